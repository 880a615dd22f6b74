-- Record the results of a batch of finished jobs (docs/internals.md, "5. Finish") and, optionally,
-- take the next entries for the worker's free slots ("2. Read": one call per job at concurrency 1).
-- Per job one command in the common case: SET r:<id> <outcome> NX EX <ttl>. NX is the
-- first-finisher check: a job that has an outcome (finished or failed, a duplicate run, a
-- finish re-sent after a lost reply) keeps the first one, and the job's code says 0. A job
-- with a record (caller id, retried, claimed: the worker knows) also gets the record EXPIREd
-- with the result, so its idempotency marker lives as long as its result.
-- Order: the type checks, then a write that takes no memory (the take, or a trim of nothing:
-- Redis checks maxmemory only before a script's first write, so a full Redis still records
-- results), TIME, the outcomes, the per-batch event and counters, and the acknowledgements and
-- trim last (ack_and_trim, include/entries.lua): a script error half-way leaves every entry
-- pending, never one acknowledged and unrecorded (taken entries are read back as after a lost
-- reply). Queue-wide keys of the wrong type are refused before any write.
--
-- KEYS[1] stream  KEYS[2] events  KEYS[3] stats  KEYS[4] minutes  KEYS[5] durations
-- KEYS[6] dead  KEYS[7] has-dependents (set)  KEYS[8] ended-parents (zset)
-- ARGV[1] result key prefix  ARGV[2] record key prefix  ARGV[3] group  ARGV[4] consumer
-- ARGV[5] result TTL (s)  ARGV[6] events max len (jobs)  ARGV[7] minutes of counts kept
-- ARGV[8] starts this worker made since its last count (the `started` counter's only writer;
--   added only when the call acknowledged an entry: a finish re-sent after a lost reply
--   finds its entries acknowledged, and its tally was counted by the call that landed)
-- ARGV[9] take: entries to read for the worker after recording (0 = none)
-- ARGV[10] dead max len  ARGV[11] failure TTL (s)
-- ARGV[12] the shard's id suffix (keys.ts idSuffix: '' for one shard, `:<s>` of N > 1)
-- ARGV[13..] quintuples: entry id, job id ('' = the entry id and the suffix: an auto id),
--   has record (1/0), run ms,
--   outcome tail (lib/engine/outcome.ts runTail: the script prepends `F<now> `)
-- A given job id is checked against its entry's `i` first: an entry carrying another job (an id
--   a promoted master issued again) is not acknowledged (held_by_other).
-- Returns { codes, taken }: per job 1 recorded, 0 had an outcome, -2 r:<id> holds another
-- type (corrupt: the job is dead-lettered `corrupt record: key … holds a …`, counted as
-- failed, its record given the failure TTL, the entry acknowledged; r:<id> is left as it is:
-- the letter is the durable trace, the key not Courier's to delete); taken = XREADGROUP's entries;
-- noted = how many of the jobs it ended other jobs wait for (put in ended-parents: the worker
-- then tells their dependents, docs/internals.md "Dependencies and batches").
-- Or an error reply `ERR courier: key … holds a …` (nothing written).
--- @include wrongtype
--- @include counters
--- @include minutes
--- @include entries
--- @include clock
--- @include dead
--- @include fields
--- @include dependents
local rprefix, jprefix, group, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[5]
-- Queue-wide keys of the wrong type, in as few calls as the order allows (a batch of one pays
-- each call alone: docs/performance.md, "A cheaper finish"): TYPE for the
-- keys only later writes touch; the minute hash by the HGET its count needs anyway, and the
-- stream by the first write, both under pcall: they refuse a key of another type (WRONGTYPE),
-- which TYPE then names.
local function refused(key, expected, err)
  return wrong_type({ key, expected }) or redis.error_reply(type(err) == 'table' and err.err or
    tostring(err))
end
local wrong = wrong_type({ KEYS[2], 'stream', KEYS[3], 'hash', KEYS[5], 'hash', KEYS[6], 'stream' })
local ok, seen, taken = true, nil, nil
if not wrong then
  ok, seen = pcall(redis.call, 'HGET', KEYS[4], 'trimmed')
  if not ok then wrong = refused(KEYS[4], 'hash', seen) end
end
if not wrong then
  -- The first write takes no memory (see above): the take (XREADGROUP, below 16 slots), else a
  -- trim of nothing (XTRIM MINID 0). Neither is denied on a full Redis; both refuse a key that
  -- is not a stream.
  if tonumber(ARGV[9]) > 0 then
    ok, taken = pcall(redis.call, 'XREADGROUP', 'GROUP', group, ARGV[4], 'COUNT', ARGV[9],
      'STREAMS', KEYS[1], '>')
  else
    ok, taken = pcall(redis.call, 'XTRIM', KEYS[1], 'MINID', '0')
  end
  if not ok then wrong = refused(KEYS[1], 'stream', taken) end
end
if wrong then return wrong end
local now = clock_ms()
-- Histogram bounds in ms; keep in step with DURATION_BOUNDS_MS in lib/admin/stats.ts. Their
-- field names are written out (tests/metrics.test.ts checks both): 13 tostring() calls at every
-- call cost more than anything else in a batch of one's Lua (docs/performance.md, "Where a
-- script's time goes").
local BOUNDS = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000 }
local BUCKETS = { '5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '10000',
  '30000', '60000' }
local head = 'F' .. string.format('%d', now) .. ' '
local codes, entries, recorded, corrupt, buckets, sum = {}, {}, {}, {}, {}, 0

-- r:<id> holds another type (someone's key): no outcome can be kept there, so the job is
-- dead-lettered with the entry's fields and the attempt that ran (from the outcome tail).
-- Only while the entry is pending: a finish re-sent after a lost reply, or a second run's finish
-- of the same entry (a claim keeps the entry id), finds it acknowledged and writes no second letter.
local function bury_corrupt(entry, id, key, has_record, tail, what)
  if not redis.call('XPENDING', KEYS[1], group, entry, entry, 1)[1] then return end
  local f = entry_at(KEYS[1], entry) or {}
  local attempt = string.match(tail, '^%S+ (%d+) ') or f.a
  local err = 'corrupt record: key ' .. (what or holds(key, redis.call('TYPE', key).ok, 'string'))
  dead_letter(KEYS[6], ARGV[10], id, { t = f.t, p = f.p, a = attempt, m = f.m, k = f.k }, err, false)
  if has_record then redis.call('EXPIRE', jprefix .. id, ARGV[11]) end
  corrupt[#corrupt + 1] = id
end

-- Whether `entry` now carries another job than `id` (given: a caller id, or a re-added job's,
-- both in the entry's `i`). After a failover the promoted master may issue again an entry id
-- that only the dead master had (docs/cluster.md, "Stream ids after a failover"): a worker
-- finishing the lost job would acknowledge and delete the new job's entry. Such an entry is
-- left as it is (pending, or waiting); the job's result is still recorded (it did run). An
-- entry already gone is no one's. An auto id names its entry, so it has no such check.
local function held_by_other(entry, id)
  local f = entry_at(KEYS[1], entry)
  return f ~= nil and f.i ~= id
end

for i = 13, #ARGV, 5 do
  local entry, id = ARGV[i], ARGV[i + 1]
  if id == '' then id = entry .. ARGV[12] end
  if ARGV[i + 1] == '' or not held_by_other(entry, id) then entries[#entries + 1] = entry end
  local key = rprefix .. id
  if redis.call('SET', key, head .. ARGV[i + 4], 'NX', 'EX', ttl) then
    if ARGV[i + 2] == '1' then redis.call('EXPIRE', jprefix .. id, ttl) end
    recorded[#recorded + 1] = id
    local ms = tonumber(ARGV[i + 3]) or 0
    local bucket = 'inf'
    for j = 1, #BOUNDS do
      if ms <= BOUNDS[j] then bucket = BUCKETS[j]; break end
    end
    buckets[bucket] = (buckets[bucket] or 0) + 1
    sum = sum + ms
    codes[#codes + 1] = 1
  elseif redis.call('TYPE', key).ok ~= 'string' then
    -- Rare path: SET NX answers nil on a key of another type.
    bury_corrupt(entry, id, key, ARGV[i + 2] == '1', ARGV[i + 4])
    codes[#codes + 1] = -2
  elseif not string.match(redis.call('GETRANGE', key, 0, 1), '^[FXC]%d') then
    -- Rare path: a string that is no outcome (written by hand, R-193), which the result would
    -- have been dropped for as a duplicate's, the job then read back as unknown. Two bytes tell
    -- it (GET would copy a whole earlier outcome into Lua: 100 MB held Redis 0.47 s).
    bury_corrupt(entry, id, key, ARGV[i + 2] == '1', ARGV[i + 4],
      key .. ' holds a string that is no outcome')
    codes[#codes + 1] = -2
  else
    -- Lost (rare path): another run finished first. If that run did not know of the record (a
    -- stale worker whose entry a claim took over, making the record), its finish expired none:
    -- this one does, so the record does not outlive the result.
    if ARGV[i + 2] == '1' then redis.call('EXPIRE', jprefix .. id, ttl) end
    codes[#codes + 1] = 0
  end
end
if #recorded > 0 then
  -- One event per batch naming every recorded job (job ids hold no comma); the stream keeps
  -- about ARGV[6] jobs' events, not entries, so its memory does not grow with batch size.
  local keep = math.max(1, math.ceil(tonumber(ARGV[6]) / #recorded))
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', keep, '*', 'type', 'finished', 'ids',
    table.concat(recorded, ','))
  add_count(KEYS[3], 'finished', #recorded)
  seen = count_minute(KEYS[4], now, tonumber(ARGV[7]), 'finished', #recorded, seen)
  -- The histogram's count is the sum of its buckets (lib/admin/stats.ts readDurations).
  for bucket, n in pairs(buckets) do add_count(KEYS[5], bucket, n) end
  add_count(KEYS[5], 'sum_ms', sum)
end
if #corrupt > 0 then
  local keep = math.max(1, math.ceil(tonumber(ARGV[6]) / #corrupt))
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', keep, '*', 'type', 'failed', 'ids',
    table.concat(corrupt, ','))
  add_count(KEYS[3], 'failed', #corrupt)
  add_count(KEYS[3], 'dead', #corrupt)
  count_minute(KEYS[4], now, tonumber(ARGV[7]), 'failed', #corrupt, seen)
end
-- One SMISMEMBER per batch (not per job): a job others wait for goes into ended-parents here,
-- atomically with its outcome, so depend.lua either saw it ended or it sees its dependents.
local noted = 0
if #recorded > 0 then noted = note_ended(KEYS[7], KEYS[8], recorded, now) end
if #corrupt > 0 then noted = noted + note_ended(KEYS[7], KEYS[8], corrupt, now) end
taken = type(taken) == 'table' and taken[1][2] or {}
local acked = ack_and_trim(KEYS[1], group, entries)
-- After the acknowledgements (add_count never fails): see ARGV[8].
if acked > 0 and tonumber(ARGV[8]) > 0 then add_count(KEYS[3], 'started', ARGV[8]) end
return { codes, taken, noted }
