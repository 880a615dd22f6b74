-- Running slots of limit keys freed (docs/internals.md, "Rate limits"): jobs of a key with a
-- key concurrency ended (or never started), and the first jobs waiting for a slot of that key
-- are woken, in order, one per slot now free. Under the queue's tag. A woken job keeps its
-- place in the waiting list (scored negative) until it starts: if another job took the slot
-- first, it waits again where it was. Waiters that are gone (woken but ended or canceled, so
-- wake.lua could not move them, or whose hold found them ended) leave the list here, and the
-- next are woken in their place: a gone waiter never swallows a wake.
--
-- The first write takes no memory (a run's ZREM, a gone waiter's, or the expired slots'
-- ZREMRANGEBYSCORE): Redis checks maxmemory only before a script's first write, so a full
-- Redis still frees slots (a write that takes memory first would have the free refused, OOM,
-- and the key's waiters left to their fallback).
--
-- A run frees only its own running member (its token: limit.lua); the key hash's `run|<job id>`
-- goes with it only while it names that run (a claimer's ask may have re-keyed it).
--
-- KEYS[1] layout (hash: key_concurrency)  KEYS[2] held keys (limit:keys): a key whose last
--   waiter is dropped here (canceled, ended) leaves them, as limit.lua takes off a key whose
--   last waiter starts, unless a hold (`held_until`) or its rate (a rate-held or rate-waking
--   member due later: rate-held.lua walks the list for them) still holds it back; left, info
--   showed it held, none waiting, till its listing's time (the first running slot's expiry,
--   186 s by default). Never at a wake: a woken waiter keeps its place in the list (it may find
--   its slot taken and wait again).
-- ARGV[1] running prefix  ARGV[2] waiting prefix  ARGV[3] key hash prefix
-- ARGV[4] the number E of ended runs  ARGV[5] rate-held prefix  ARGV[6] rate-waking prefix
-- ARGV[7..6+3E] triples: the run's token, limit key, job id
-- ARGV[7+3E..] pairs: waiting member `<shard>|<job id>` gone, limit key; a member '' names a
--   key whose waiters are woken to its free slots only (its key concurrency raised or
--   removed), its waiters woken and not started yet (scored negative: an earlier call's of the
--   same wake, or a free's) counted against them, as their slots are as good as taken;
--   a member '?' a key of a free tried again (its first call's reply lost, or its wakes failed
--   and could not be undone): its waiters still marked woken (scored negative, never started)
--   may never have been moved, so they are named again first, in order, each taking one of the
--   free slots (a wake of one that was moved only leaves a marker: wake.lua), then the unwoken
--   ones as usual
-- Returns pairs: each woken job's waiting member, `<shard>|<job id>`, and its limit key (the
-- worker moves each from its shard's delayed set to its stream: wake.lua); then, for each key
-- whose running set, waiting list or hash holds another type (a hand edit), the pair
-- `!unreadable`, `<key> holds a <type>, not a <type>`: nothing of that key is read or written
-- (its slots free themselves at their expiry; limit.lua holds its jobs meanwhile), the other
-- keys' are freed; for each waiting list that held members naming no job of the queue (a hand
-- edit: no `<shard>|<job id>` as limit.lua writes it, a shard past the layout's count, an id no
-- job may have), the pair `!dropped`, `<waiting list>: <n> members naming no job of the queue
-- dropped, the first "<member>"`: woken, each would take a free slot in vain (never started, so
-- never dropped), and the waiters behind it would wait for their fallback. Two markers, not
-- one: a key's or a member's text may hold any words (` holds a ` too), so the text never says
-- which problem it is.
-- Or an error reply `ERR courier: key … holds a …` for the layout key (nothing written).
--- @include clock
--- @include wrongtype
--- @include readd
--- @include rates
local refused = wrong_type({ KEYS[1], 'hash' })
if refused then return refused end
local now = clock_ms()
local layout = redis.call('HMGET', KEYS[1], 'key_concurrency', 'shards')
local kc = tonumber(layout[1])
-- A one-shard queue's layout has no count (layout.lua).
local shards = count(layout[2]) or 1
local last = 6 + 3 * tonumber(ARGV[4])
local woken, keys = {}, {}
-- A running member expiring past any slot limit.lua gives (its RUNNING_MOST_MS: `inf`, a hand
-- edit) is dropped as an expired one: kept, it took one of the key's free slots for ever.
local RUNNING_MOST_MS = 1000000000 + 2 * 86400000
-- Waiters of one key woken per call at most (WAKE_MOST_PER_CALL, lib/engine/limit.ts).
local WAKE_MOST = 100

-- Whether a limit key's own keys are usable (each key checked once per call); one that is not
-- is said once at the end of the reply.
local problems = {}
local function usable(key)
  if problems[key] == nil then
    local own = { ARGV[1] .. key, 'zset', ARGV[2] .. key, 'zset', ARGV[3] .. key, 'hash' }
    problems[key] = type_problem(own) or false
  end
  return not problems[key]
end

for i = 7, last, 3 do
  local token, key, id = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if usable(key) then
    redis.call('ZREM', ARGV[1] .. key, token)
    if redis.call('HGET', ARGV[3] .. key, 'run|' .. id) == token then
      redis.call('HDEL', ARGV[3] .. key, 'run|' .. id)
    end
    keys[key] = true
  end
end
local again, raised = {}, {}
for i = last + 1, #ARGV, 2 do
  if usable(ARGV[i + 1]) then
    if ARGV[i] == '?' then
      again[ARGV[i + 1]] = true
    elseif ARGV[i] == '' then
      raised[ARGV[i + 1]] = true
    else
      redis.call('ZREM', ARGV[2] .. ARGV[i + 1], ARGV[i])
    end
    keys[ARGV[i + 1]] = true
  end
end
-- Whether a waiting member names a job: `<shard>|<job id>` (limit.lua's `o.shard`: digits as
-- a number prints them, below the shard count) with an id a job may have (valid_id).
local function names_job(m)
  local shard, id = string.match(m, '^(%d+)|(.*)$')
  if not shard or (#shard > 1 and string.sub(shard, 1, 1) == '0') then return false end
  return #shard < 6 and tonumber(shard) < shards and valid_id(id)
end
local dropped = {}
-- The first `want` members of `waiting` in the score range `from`..`to` (first to last place)
-- that name a job, the others met on the way dropped. `mark`: each taken is marked woken
-- (scored -place), which takes it out of the range; else the pages step past those taken.
local function first_waiters(waiting, from, to, want, mark)
  local got = {}
  while #got < want do
    local offset = mark and 0 or #got
    local cmd = mark and 'ZRANGEBYSCORE' or 'ZREVRANGEBYSCORE'
    local page = redis.call(cmd, waiting, from, to, 'LIMIT', offset, want - #got)
    if #page == 0 then break end
    for _, m in ipairs(page) do
      if names_job(m) then
        if mark then redis.call('ZADD', waiting, -redis.call('ZSCORE', waiting, m), m) end
        got[#got + 1] = m
      else
        redis.call('ZREM', waiting, m)
        local d = dropped[waiting] or { n = 0, first = m }
        d.n = d.n + 1
        dropped[waiting] = d
      end
    end
  end
  return got
end
-- Takes `key` off the held keys when it has no waiter left and nothing else holds it back (see
-- KEYS[2]); a rate-held or rate-waking set of another type keeps it listed (limit.lua's way).
local function unlist_if_free(key, waiting)
  if not redis.call('ZSCORE', KEYS[2], key) or redis.call('EXISTS', waiting) == 1 then return end
  local held = tonumber(redis.call('HGET', ARGV[3] .. key, 'held_until'))
  if held and held > now then return end
  if rate_holds_later({ ARGV[5], ARGV[6] }, key, now) then return end
  redis.call('ZREM', KEYS[2], key)
end
for key in pairs(keys) do
  local running, waiting = ARGV[1] .. key, ARGV[2] .. key
  redis.call('ZREMRANGEBYSCORE', running, '-inf', now)
  redis.call('ZREMRANGEBYSCORE', running, '(' .. (now + RUNNING_MOST_MS), '+inf')
  -- No concurrency any more (the limit was cleared): wake them all. At most WAKE_MOST a key
  -- per call, however many slots are free (a key concurrency raised far or removed over a
  -- backlog: 100,000 woken in one call held Redis 2.6 s and made a reply of 200,000 strings);
  -- wakeKeyWaiters calls again for a key that woke that many. A raised key's woken waiters
  -- not started yet take slots too (else each call woke to the slots its earlier ones had);
  -- counted here, not by the caller: those started between its calls are in `running` (a
  -- count of all it woke took them off twice, and left as many slots idle). Only a raised
  -- key's: a free tried again names its woken waiters again to its free slots (`again`).
  local free = kc and (kc - redis.call('ZCARD', running)) or WAKE_MOST
  if kc and raised[key] then free = free - redis.call('ZCOUNT', waiting, '-inf', '(0') end
  if free > WAKE_MOST then free = WAKE_MOST end
  if again[key] and free > 0 then
    -- Scored -place: from the first place on.
    for _, m in ipairs(first_waiters(waiting, '(0', '-inf', free, false)) do
      woken[#woken + 1] = m
      woken[#woken + 1] = key
      free = free - 1
    end
  end
  if free > 0 then
    for _, m in ipairs(first_waiters(waiting, '(0', '+inf', free, true)) do
      woken[#woken + 1] = m
      woken[#woken + 1] = key
    end
  end
  unlist_if_free(key, waiting)
end
for _, problem in pairs(problems) do
  if problem then woken[#woken + 1], woken[#woken + 2] = '!unreadable', problem end
end
for waiting, d in pairs(dropped) do
  local first = cjson.encode(string.sub(d.first, 1, 100))
  woken[#woken + 1] = '!dropped'
  woken[#woken + 1] = waiting .. ': ' .. d.n .. ' members naming no job of the queue dropped, the first ' .. first
end
return woken
