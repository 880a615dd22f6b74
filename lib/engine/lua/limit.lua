-- The limiter (docs/internals.md, "Rate limits"): for a batch of jobs a worker read, in order,
-- whether each may start, and when. Under the queue's own tag, so one script decides for every
-- worker and shard of the queue: exact across them. It reads the settings itself (the layout
-- key's `rate`, `key_concurrency`, `key_rate`), so a decision never uses a stale one.
--
-- Rates have no burst: starts are slots spaced `(interval + late) / N` apart (GCRA with tau = 0
-- whose TAT is the next free slot), and a worker starts a job no earlier than its slot and no
-- later than `late` ms after it (else it gives the slot back). So N + 1 starts span at least
-- N * spacing - late = interval: ANY window of one interval holds at most N starts.
-- `late` = min(20, interval / 20), at least 5 ms: the limit is met to 98 % or better from a 1 s
-- interval up.
-- Slots are reserved ahead (at most `horizon` ms), so a backlog is served at exactly the rate
-- with one call per batch; the worker starts each job at its slot by a timer. A job whose key
-- slot lies later than the queue's next slot takes a queue slot at its own time; the free slots
-- it skips are kept as gaps that later jobs fill, so a slow key costs the queue nothing.
--
-- KEYS[1] layout (hash; `tat_rate`: the rate KEYS[2] was computed under)
-- KEYS[2] rate (string: the queue's next free slot)
-- KEYS[3] gaps (zset of free slot ranges `<from>|<to>`, scored by from)  KEYS[4] held keys (zset:
--   listed while held back, till the listing's time; a key whose last waiter starts leaves it)
-- ARGV[1] key hash prefix  ARGV[2] running prefix  ARGV[3] waiting prefix  ARGV[4] horizon ms
-- ARGV[5] the shard's number (waiting members are `<shard>|<job id>`)  ARGV[6] rate-held prefix
--   (jobs held back by their key's rate, `<shard>|<job id>` -> slot: woken on a key rate change)
-- ARGV[7] rate-waking prefix (a key rate change's copy of that set: a job that starts leaves it,
--   so a wake that stopped never names it later, when it may be delayed for another reason)
-- ARGV[8..] quads: job id, limit key ('' = none), how long its running slot may be held (ms:
--   the attempt's time limit and a margin; a dead worker's slot frees itself then), the run's
--   token (one per delivery: `<shard>|<entry id>|<deliveries>`), the running slot's member, so
--   that a run frees only its own slot (a stalled worker's run, claimed away, ending late never
--   frees its claimer's). The key's hash maps `run|<job id>` to the job's latest token: a
--   claim's ask takes the job's slot over (re-keys it), never a second one.
-- Returns one string per job:
--   `S <in ms> <late ms> <slot>`: start it `in` ms after the script ran, no later than `late`
--     ms after that (-1: no bound: only a key concurrency applies); slot 1: it took a running
--     slot of its key, which its worker frees when it ends (limit-done.lua);
--   `H <due ms> <why>`: give its slot away, back at `due` (Redis' ms): why = held (the key is
--     held), busy (its key's running slots are taken: woken when one frees), rate (its key's
--     next slot is past the horizon);
--   `L <in ms>`: the queue's next slot is past the horizon: keep it, ask again in `in` ms;
--   `H <due ms> corrupt <key> holds a <type>, not a <type>`: one of its limit key's own keys
--     (hash, running, waiting, rate-held, rate-waking: those the settings use) holds another
--     type (a hand edit, another program): nothing of that key is read or written, its jobs are
--     held a minute (CORRUPT_HOLD_MS) and come back to ask again, so deleting the key lets them
--     run; the other keys' jobs are decided as ever. One user's bad key stops no one else's.
-- Or an error reply `ERR courier: key … holds a …` when a queue-wide key (KEYS) holds another
-- type: checked before any write (include/wrongtype.lua), as every script checks its own.
-- Redis' clock to the microsecond (clock_ms floors it): a slot is then known to the worker
-- within its round trip alone, not a millisecond more.
--- @include wrongtype
--- @include rates
local function now_exact()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local refused = wrong_type({ KEYS[1], 'hash', KEYS[2], 'string', KEYS[3], 'zset', KEYS[4], 'zset' })
if refused then return refused end
local now = now_exact()
local horizon = tonumber(ARGV[4])
-- How long a job of a corrupt limit key is held: long enough that a backlog of such jobs costs
-- a call per job a minute, short enough that they run soon after the key is deleted.
local CORRUPT_HOLD_MS = 60000
-- `tat_rate`: the rate `limit:rate` was computed under (a key hash has its own: see retimed).
local cfg = redis.call('HMGET', KEYS[1], 'rate', 'key_concurrency', 'key_rate', 'tat_rate')

-- A rate `N/<ms>` as its slot spacing and lateness bound, or nil (none, or not one).
local function rate_of(v)
  local n, per = string.match(v or '', '^(%d+)/(%d+)$')
  n, per = tonumber(n), tonumber(per)
  if not n or n < 1 or per < 1 then return nil end
  local late = math.max(5, math.min(20, math.floor(per / 20)))
  return { spacing = (per + late) / n, late = late }
end

-- A next slot `tat` computed under the rate text `was`, now under `r` (text `is`). The old
-- rate spaced it, so a faster or cleared rate would take effect only at that slot (a minute
-- away under 1/m). On a change it comes instead one new spacing after the latest start the
-- last slot given (tat - old spacing) allowed (its lateness bound): every start of the new
-- rate is then at least its spacing after every earlier one, so the new rate's guarantee holds
-- across the change. `was` absent (a slot an older Courier wrote): kept.
local function retimed(tat, was, is, r)
  local old = rate_of(was)
  if was == is or not old then return tat end
  return tat - old.spacing + old.late + r.spacing
end

-- A stored next slot (the queue's `limit:rate`, a key's `tat`), or 0 (none) when no rate gave
-- it: a slot is taken only within the horizon and the next is one spacing on, at most
-- RATE_PER_MAX_MS (7 days, lib/engine/rates.ts) and its lateness; SLOT_MOST_MS allows a day
-- more (another node's clock after a failover). Past that, or no number (a hand edit: `inf`,
-- `nan`, `1e300`), it is read as none, as text that is no number was: read as it was, `inf`
-- kept every job of the queue (or of the key) from starting again, nothing said.
local SLOT_MOST_MS = 8 * 86400000
local function slot_or_none(v)
  local t = tonumber(v)
  if t and t >= 0 and t <= now + horizon + SLOT_MOST_MS then return t end
  return 0
end
-- A key's `held_until` is a hold while it is at most HOLD_MAX_MS (a day, lib/engine/hold-key.ts)
-- and a day for another node's clock ahead: past that (`inf`, `1e300`) no hold gave it.
local HELD_MOST_MS = 2 * 86400000
-- A running slot expires at most the longest time limit (INTERVAL_LIMIT_MS, lib/config.ts: a
-- task of no limit is held that long, runningSlotMs), the horizon and a margin after its start;
-- RUNNING_MOST_MS allows two days for those and another node's clock. A member past that (`inf`,
-- `1e300`: a hand edit, or a slot an earlier Courier took for a task of no limit) is dropped
-- as an expired one is: kept, it held one of the key's slots for ever.
local RUNNING_MOST_MS = 1000000000 + 2 * 86400000

local qr, kr = rate_of(cfg[1]), rate_of(cfg[3])
local kc = tonumber(cfg[2])
if kc and kc < 1 then kc = nil end
local tat = slot_or_none(redis.call('GET', KEYS[2]))
local tat_changed = false
if qr and cfg[4] and cfg[4] ~= cfg[1] then
  -- The queue's rate changed: its next slot is retimed, and the free slots the old spacing left
  -- (gaps, spaced by it: too close under a slower rate) are dropped (a few slots of a horizon).
  tat = retimed(tat, cfg[4], cfg[1], qr)
  tat_changed = true
  redis.call('DEL', KEYS[3])
end

-- Gaps: free queue slots left behind, as ranges [from, to] of slot times, scored by `from`.
-- Never read whole: the set holds up to a range per job decided within the horizon (one job
-- makes at most one more), and a fast rate's horizon has room for millions. The ranges are
-- disjoint and in order: a range is only ever cut into parts of itself, and a new one lies
-- between the old tail and the new, past every other (to the µs of their text: for rates up
-- to 2,000 per ms; parseRate accepts up to 1,000,000 per ms, where slots closer than a µs may
-- make ranges touch: fuzzing gave the same replies there, with about one ended range kept
-- longer, no growth). So each range ends before the next begins: those wholly
-- past are the first ones (one ZREMRANGEBYSCORE), and the earliest free slot at or after x is
-- in the last range that begins at or before x, or else in the first that begins after it:
-- two reads of one member each, the slot the same as a walk through every range would find.
-- A range this call wrote is known exactly (its text is rounded to the µs): as written.
local written = {}
local function gap_of(m)
  if written[m] then return { from = written[m].from, to = written[m].to, m = m } end
  local from, to = string.match(m or '', '^([^|]+)|(.+)$')
  from, to = tonumber(from), tonumber(to)
  if to and to >= from then return { from = from, to = to, m = m } end
end

-- The range that begins last at or before x (`back`), or first after it; one that is not a
-- range (a hand edit) is dropped, as it always was, and the next looked at (however many in a
-- row: each pass removes one, so the loop ends).
local function gap_near(x, back)
  local bound = string.format('%.17g', x)
  while true do
    local got = back and redis.call('ZREVRANGEBYSCORE', KEYS[3], bound, '-inf', 'WITHSCORES',
      'LIMIT', 0, 1) or redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. bound, '+inf', 'WITHSCORES',
      'LIMIT', 0, 1)
    if not got[1] then return nil end
    local g = gap_of(got[1])
    if g then g.score = got[2]; return g end
    redis.call('ZREM', KEYS[3], got[1])
  end
end

if qr then
  -- Those past are gone: every range before the one that begins last by now, and that one too
  -- when it has ended.
  local g = gap_near(now, true)
  if g then
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', (g.to < now and '' or '(') .. g.score)
  end
end

local function add_gap(from, to)
  from = math.max(from, now)
  if to < from then return end
  local m = string.format('%.3f|%.3f', from, to)
  -- Scored by the `from` its text says, so the order read is the order the ranges are in.
  redis.call('ZADD', KEYS[3], string.format('%.3f', from), m)
  written[m] = { from = from, to = to }
end

-- The earliest queue slot at or after x: in a gap (returned), else at the tail (the TAT).
local function queue_slot(x)
  local g = gap_near(x, true)
  if not (g and g.to >= x) then g = gap_near(x, false) end
  local s = g and math.max(g.from, x)
  if s and s <= g.to then return s, g end
  return math.max(x, tat), nil
end

-- Takes slot s (in gap g, or at the tail): what is left of the gap, or skipped, stays free.
local function take_queue_slot(s, g)
  local sp = qr.spacing
  if g then
    redis.call('ZREM', KEYS[3], g.m)
    add_gap(g.from, s - sp)
    add_gap(s + sp, g.to)
  else
    add_gap(tat, s - sp)
    tat = s + sp
    tat_changed = true
  end
end

local function fmt(x) return string.format('%.3f', x) end

-- Marks a key as held until `ms` (info, the dashboard), and keeps its hash a minute past that.
local function list_held(key, ms)
  local listed = tonumber(redis.call('ZSCORE', KEYS[4], key)) or 0
  if listed < ms then redis.call('ZADD', KEYS[4], ms, key) end
end

-- Keeps a key a minute past `ms` (its last slot or expiry), never shortening its life: a
-- running set must outlive its longest-running member, not its latest one.
local function touch(k, ms)
  local want = math.ceil(math.max(ms, now) + 60000 - now)
  local ttl = redis.call('PTTL', k)
  if ttl == -1 or (ttl >= 0 and ttl < want) then redis.call('PEXPIRE', k, want) end
end

-- A new waiter's place: the key's `seq`, one up. A `seq` that is not an integer (a hand edit)
-- must not fail the call, which may have taken other keys' slots already: it starts again past
-- the highest place in the waiting list (woken ones scored negative), so the order holds.
local function next_place(khash, waiting)
  local ok, n = pcall(redis.call, 'HINCRBY', khash, 'seq', 1)
  if ok then return n end
  local low = redis.call('ZRANGE', waiting, 0, 0, 'WITHSCORES')[2]
  local high = redis.call('ZRANGE', waiting, -1, -1, 'WITHSCORES')[2]
  n = math.floor(math.max(math.abs(tonumber(low) or 0), math.abs(tonumber(high) or 0))) + 1
  redis.call('HSET', khash, 'seq', n)
  return n
end

-- A job of a limit key waits for a running slot: in the waiting list, in order (a woken job,
-- scored negative, keeps its place), and back at the earliest a running slot frees itself.
local function wait_for_slot(key, id, running, khash)
  local waiting = ARGV[3] .. key
  local member = ARGV[5] .. '|' .. id
  local seen = tonumber(redis.call('ZSCORE', waiting, member))
  local order = seen and math.abs(seen) or next_place(khash, waiting)
  redis.call('ZADD', waiting, order, member)
  local first = redis.call('ZRANGE', running, 0, 0, 'WITHSCORES')
  local due = math.ceil(tonumber(first[2]) or now)
  touch(waiting, due); touch(khash, due)
  list_held(key, due)
  return 'H ' .. due .. ' busy'
end

-- A job of `key` starts: it waits for a running slot no more. Its key was listed as held while
-- jobs waited (wait_for_slot: till the first running slot's expiry, minutes on); the last
-- waiter started, the key leaves the list (info, /metrics) unless its rate holds jobs back
-- (rate-held.lua finds them through the list, in its rate-held set or in the waking copy a
-- stopped wake left: it stays, till their due times). A hold never gets here (its jobs are
-- held). Also without a key concurrency (removed while jobs waited: woken, they start here),
-- when the lists are not checked for their type: one of another type is left as it is, the
-- key listed.
local function waits_no_more(key, member)
  local waiting = ARGV[3] .. key
  local ok, gone = pcall(redis.call, 'ZREM', waiting, member)
  if not ok or gone == 0 or redis.call('EXISTS', waiting) == 1 then return end
  if rate_holds_later({ ARGV[6], ARGV[7] }, key, now) then return end
  redis.call('ZREM', KEYS[4], key)
end

-- Why a limit key's own keys cannot be used (`<key> holds a <type>, not a <type>`), or false:
-- only those the settings make this call touch, each key checked once per call (this script
-- only ever writes them with their own type, so the answer holds till it ends).
local problems = {}
local function problem_of(key)
  if problems[key] == nil then
    local want = { ARGV[1] .. key, 'hash' }
    local function zset(prefix) want[#want + 1], want[#want + 2] = prefix .. key, 'zset' end
    if kc then zset(ARGV[2]); zset(ARGV[3]) end
    if kr then zset(ARGV[6]); zset(ARGV[7]) end
    problems[key] = type_problem(want) or false
  end
  return problems[key]
end

local function decide(id, key, hold_ms, token)
  local x, late = now, nil
  local khash, running, kt
  if key ~= '' and problem_of(key) then
    local due = math.ceil(now + CORRUPT_HOLD_MS)
    list_held(key, due)
    return 'H ' .. due .. ' corrupt ' .. problem_of(key)
  end
  if key ~= '' then
    khash, running = ARGV[1] .. key, ARGV[2] .. key
    kt = redis.call('HMGET', khash, 'tat', 'held_until', 'hold_next', 'tat_rate')
    local held = tonumber(kt[2]) or 0
    if held > now and held <= now + HELD_MOST_MS then return 'H ' .. held .. ' held' end
    if kc then
      redis.call('ZREMRANGEBYSCORE', running, '-inf', now)
      redis.call('ZREMRANGEBYSCORE', running, '(' .. (now + RUNNING_MOST_MS), '+inf')
      local prev = redis.call('HGET', khash, 'run|' .. id)
      local mine = redis.call('ZSCORE', running, token) or (prev and redis.call('ZSCORE', running, prev))
      if not mine and redis.call('ZCARD', running) >= kc then
        return wait_for_slot(key, id, running, khash)
      end
      if prev and prev ~= token then redis.call('ZREM', running, prev) end
    end
    if kr then
      local ktat = slot_or_none(kt[1])
      -- The last rate hold's due time; one no hold could write (`inf`, `nan`, past 2^53: a hand
      -- edit) is none: read as it was, `inf` raised after the call's first writes (PEXPIRE of
      -- inf), failing every call with a job of the key, and a huge one held its jobs for ages.
      local hold_next = tonumber(kt[3])
      if hold_next and not (hold_next < 2 ^ 53) then hold_next = nil end
      if kt[4] and kt[4] ~= cfg[3] then
        -- The key rate changed since its next slot was set: retimed (as the queue's), and the
        -- schedule of its held jobs, spaced by the old rate, starts again.
        ktat = retimed(ktat, kt[4], cfg[3], kr)
        redis.call('HSET', khash, 'tat', fmt(ktat), 'tat_rate', cfg[3])
        redis.call('HDEL', khash, 'hold_next')
        hold_next = nil
      end
      if hold_next and ktat <= now then
        -- A slot went unused: the jobs held for it are gone (canceled) or late. Their schedule
        -- is stale: new holds start from the key's next slot again, not behind it.
        redis.call('HDEL', khash, 'hold_next')
        hold_next = nil
      end
      if ktat > now + horizon then
        -- Past the horizon: back shortly before its slot, held jobs one spacing apart (so
        -- they come back in turn, not all at once). A job held again takes the next place.
        local due = math.max(ktat, (hold_next or 0) + kr.spacing)
        local rheld = ARGV[6] .. key
        redis.call('HSET', khash, 'hold_next', fmt(due))
        redis.call('ZREMRANGEBYSCORE', rheld, '-inf', '(' .. (now - horizon))
        redis.call('ZADD', rheld, due, ARGV[5] .. '|' .. id)
        touch(khash, due)
        touch(rheld, due)
        list_held(key, math.ceil(due))
        return 'H ' .. math.ceil(math.max(now, due - horizon / 2)) .. ' rate'
      end
      x = math.max(x, ktat)
      late = kr.late
    end
  end
  local s, gap = x, nil
  if qr then
    s, gap = queue_slot(x)
    if s > now + horizon then return 'L ' .. math.ceil(s - horizon - now) end
    take_queue_slot(s, gap)
    late = late and math.min(late, qr.late) or qr.late
  end
  if key ~= '' then
    if kr then
      redis.call('HSET', khash, 'tat', fmt(s + kr.spacing), 'tat_rate', cfg[3])
      redis.call('ZREM', ARGV[6] .. key, ARGV[5] .. '|' .. id)
      redis.call('ZREM', ARGV[7] .. key, ARGV[5] .. '|' .. id)
      touch(khash, s + kr.spacing)
    end
    if kc then
      redis.call('ZADD', running, s + hold_ms, token)
      redis.call('HSET', khash, 'run|' .. id, token)
      touch(running, s + hold_ms)
      touch(khash, s + hold_ms)
    end
    waits_no_more(key, ARGV[5] .. '|' .. id)
  end
  return 'S ' .. fmt(s - now) .. ' ' .. (late or -1) .. ' ' .. ((kc and key ~= '') and 1 or 0)
end

local out = {}
for i = 8, #ARGV, 4 do
  out[#out + 1] = decide(ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3])
end
if tat_changed then
  redis.call('SET', KEYS[2], fmt(tat))
  if cfg[4] ~= cfg[1] then redis.call('HSET', KEYS[1], 'tat_rate', cfg[1]) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. now)
-- And those past any time a listing is given (a slot, a hold, a rate hold: below 2^53, as
-- hold_next is read): `inf` from an earlier Courier's endless slot, or a hand edit, listed the
-- key for ever (info: "in Infinityd").
redis.call('ZREMRANGEBYSCORE', KEYS[4], '(' .. 2 ^ 53, '+inf')
return out
