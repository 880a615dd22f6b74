-- Engine v2: a batch of failed attempts (rare path, docs/internals.md, "6. Fail and retry"). Each job either
-- waits in the delayed set for its retry (record `status retrying`, the failed run in its
-- history, due at Redis' TIME + the delay the worker's retry policy chose) or fails for good:
-- a dead letter and the failed value r:<id> (first outcome wins: SET NX), with the failure TTL.
-- Only the current run may fail a job: the entry must still be pending on this consumer and
-- the job must have no outcome yet. A failure re-sent after a lost reply (the entry was
-- acknowledged) or of a run another worker took over is left alone, acknowledging nothing (the
-- entry may be another worker's lease now).
-- Order: reads, then a write that takes no memory (Redis checks maxmemory only before a
-- script's first write, so a full Redis still lets outcomes through), then the outcomes, then
-- acknowledge and trim last: a script error half-way leaves every entry pending.
-- clock and dead (named below with --- @include).
--
-- KEYS[1] stream  KEYS[2] delayed  KEYS[3] dead  KEYS[4] events  KEYS[5] stats  KEYS[6] minutes
-- KEYS[7] has-dependents (set)  KEYS[8] ended-parents (zset): a job failed for good that others
--   wait for goes into ended-parents (include/dependents.lua)
-- ARGV[1] result prefix  ARGV[2] record prefix  ARGV[3] group  ARGV[4] consumer
-- ARGV[5] failure TTL (s); 0 = compact (Redis is full: only the dead letter, marked
--   `record dropped`, for which the oldest letter goes (include/dead.lua; counted
--   `dead_trimmed`); the record deleted; one `failed` event for the batch)
-- ARGV[6] dead max len  ARGV[7] events max len  ARGV[8] minutes of per-minute counts kept
-- ARGV[9] starts the worker made since its last count (the `started` counter has no other
--   writer: nothing is written at a start); added only when some entry was still pending here
-- ARGV[10] the shard's id suffix (keys.ts idSuffix: '' for one shard, `:<s>` of N > 1)
-- ARGV[11..] octuples: entry id, job id ('' = the entry id and the suffix: an auto id), has
--   record (1/0), run number,
--   run ms (on the worker's monotonic clock), error, delay ms (-1 = fail for good), rerun: the
--   attempt that failed when the retry runs again at once on this worker (Redis is full, the
--   worker holds the slot: see run_again below), else 0
-- Returns: one integer per job: 1 will retry, 3 runs again at once on this worker (its entry
-- still pending here, its delivery count that of the next attempt), 2 failed for good, 0 left
-- alone, -2 corrupt:
-- the entry gone (acknowledged, nothing written), or the record not a hash (failed for good as
-- bury.lua does: a dead letter and failed value `corrupt record: not a hash`, acknowledged;
-- the record itself left as it is, with the failure TTL), or r:<id> of another type (failed
-- for good: a dead letter `corrupt record: key … holds a <type>, not a string`, counted, the
-- record given the failure TTL; r:<id> is left as it is: it is not Courier's to delete).
-- Counters are added with add_count (include/counters.lua): a corrupt counter field never
-- stops the script between its writes and its acknowledgements.
--- @include wrongtype
--- @include history
--- @include counters
--- @include minutes
--- @include entries
--- @include memory
--- @include clock
--- @include dead
--- @include readd
--- @include dependents
local wrong = wrong_type({ KEYS[1], 'stream', KEYS[2], 'zset', KEYS[3], 'stream',
  KEYS[4], 'stream', KEYS[5], 'hash', KEYS[6], 'hash' })
if wrong then return wrong end
local rprefix, jprefix, group, consumer = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local compact = tonumber(ARGV[5]) == 0
local now = clock_ms()
local out, jobs, acks, compacted, retried, failed, reruns = {}, {}, {}, {}, 0, 0, 0
local ended = {}

-- Reads first: which failures are the job's current run.
for i = 11, #ARGV, 8 do
  local entry = ARGV[i]
  local id = ARGV[i + 1] ~= '' and ARGV[i + 1] or entry .. ARGV[10]
  local p = redis.call('XPENDING', KEYS[1], group, entry, entry, 1)[1]
  local job = { entry = entry, id = id, record = ARGV[i + 2] == '1', run = tonumber(ARGV[i + 3]),
    run_ms = tonumber(ARGV[i + 4]) or 0, err = ARGV[i + 5], delay = tonumber(ARGV[i + 6]) or -1,
    rerun = tonumber(ARGV[i + 7]) or 0 }
  if not p or p[2] ~= consumer then
    job.code = 0 -- acknowledged already, or another worker's lease now: not ours to touch
  else
    job.mine, job.deliveries = true, p[4]
    job.f = entry_at(KEYS[1], entry)
    -- TYPE, not EXISTS: only a string is an outcome; r:<id> of another type is no outcome
    -- (someone's key): the job fails for good as corrupt below, never vanishes.
    local rtype = redis.call('TYPE', rprefix .. id).ok
    if rtype == 'string' then
      job.code = 0 -- the job has an outcome (a duplicate run): its entry goes, nothing else
    elseif not job.f then
      job.code = -2
    else
      job.attempt = (count(job.f.a) or 0) + p[4]
      local ok, q = pcall(redis.call, 'HGET', jprefix .. id, 'q')
      -- A record that is not a hash, or r:<id> of another type: fails for good below, as a
      -- bury does (the letter says which key; the key itself is left as it is).
      if not ok then job.corrupt = 'not a hash' end
      if rtype ~= 'none' then
        job.corrupt = 'key ' .. holds(rprefix .. id, rtype, 'string')
      end
      job.enqueued = ok and q or auto_ms(id)
    end
  end
  jobs[#jobs + 1] = job
end
write_without_memory(KEYS[1])

local function retry(j, key)
  local f = j.f
  local fields = record_fields(f, j.attempt, j.run)
  for _, v in ipairs({ 'status', 'retrying', 'error', j.err,
      run_field(j.run), int(j.attempt) .. opened(now - j.run_ms, consumer) }) do
    fields[#fields + 1] = v
  end
  keep_enqueued(key, j.id)
  redis.call('HSET', key, unpack(end_fields(fields, j.run, now, 'retrying', j.err)))
  -- The job waits on its record: no TTL (a claim gives a record it makes one, claim.lua).
  redis.call('PERSIST', key)
  forget_old_run(key, j.run)
  redis.call('ZADD', KEYS[2], now + j.delay, j.id)
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', 'type', 'retried', 'id', j.id)
  retried = retried + 1
  return 1
end

-- Redis is full and the worker holds the job's slot (README, "Redis memory"): a retry that
-- took a record and a delayed entry would take memory the queue cannot get back, and a worker
-- stops starting jobs once outcomes take it, so a queue of failing jobs would stall. Instead
-- the entry stays pending on this worker, which runs the next attempt at once: the delivery
-- count is set to the next attempt's (XCLAIM RETRYCOUNT: an existing pending entry changed, no
-- memory taken), so claims and releases count attempts as ever (attempt = a + deliveries) and
-- the job reaches its last attempt and its letter. No record, no delayed entry, no back-off, no
-- run in the history, no event, nothing acknowledged. The count is set, not added to: a call
-- re-sent after a lost reply (the count already the next attempt's) sets it again, counting
-- nothing twice. A count that is neither (never expected) takes the ordinary retry.
local function run_again(j, key)
  local ran = j.rerun - (count(j.f.a) or 0) -- the deliveries of the attempt that failed
  if j.rerun >= (count(j.f.m) or 0) or (j.deliveries ~= ran and j.deliveries ~= ran + 1) then
    return retry(j, key)
  end
  if j.deliveries == ran then
    redis.call('XCLAIM', KEYS[1], group, consumer, 0, j.entry, 'RETRYCOUNT', ran + 1, 'JUSTID')
    retried = retried + 1
    reruns = reruns + 1
  end
  return 3
end

local function fail_now(j, key)
  -- The letter's `attempts` is the attempt that failed (v1's letter), not the entry's `a`.
  local f = { t = j.f.t, p = j.f.p, a = j.attempt, m = j.f.m, k = j.f.k }
  local err = j.corrupt and 'corrupt record: ' .. j.corrupt or j.err
  fail_for_good({ dead = KEYS[3], dead_max = ARGV[6], id = j.id, f = f,
    err = err, ttl = ARGV[5], now = now, result_key = rprefix .. j.id, record_key = key,
    run_ms = j.run_ms, attempt = j.attempt, worker = consumer, enqueued = j.enqueued })
  failed = failed + 1 -- a letter was written: the job is dead, whatever its keys hold
  ended[#ended + 1] = j.id
  if compact then
    compacted[#compacted + 1] = j.id
    return j.corrupt and -2 or 2
  end
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', 'type', 'failed', 'id', j.id)
  if j.corrupt then return -2 end
  -- The record (an idempotency marker, earlier runs) lives as long as the failed value
  -- (fail_for_good set its TTL); its status keeps `dead requeue` from taking the job for alive.
  if j.record and redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'status', 'failed', 'error', j.err)
  end
  return 2
end

-- Two entries of one job in one batch (a duplicate delivery): the first decides, the second
-- is left alone (the reads above ran before either was written).
local decided = {}
for _, j in ipairs(jobs) do
  if not j.code and decided[j.id] then j.code = 0 end
  if not j.code then
    local key = jprefix .. j.id
    -- A record that is not a hash cannot hold a retry: the job fails for good (no loop).
    if j.delay < 0 or j.corrupt then j.code = fail_now(j, key)
    elseif j.rerun > 0 then j.code = run_again(j, key)
    else j.code = retry(j, key) end
    decided[j.id] = true
  end
  out[#out + 1] = j.code
  -- A job that runs again here keeps its entry pending; every other entry pending here goes.
  if j.mine and j.code ~= 3 then acks[#acks + 1] = j.entry end
end
if retried > 0 then
  add_count(KEYS[5], 'retried', retried)
  count_minute(KEYS[6], now, tonumber(ARGV[8]), 'retried', retried)
end
if #compacted > 0 then
  -- As the finish: the events stream keeps about ARGV[7] jobs' events, not entries.
  local keep = math.max(1, math.ceil(tonumber(ARGV[7]) / #compacted))
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', keep, '*', 'type', 'failed', 'ids',
    table.concat(compacted, ','))
end
if failed > 0 then
  add_count(KEYS[5], 'failed', failed)
  add_count(KEYS[5], 'dead', failed)
  count_minute(KEYS[6], now, tonumber(ARGV[8]), 'failed', failed)
end
if letters_trimmed > 0 then add_count(KEYS[5], 'dead_trimmed', letters_trimmed) end
if #ended > 0 then note_ended(KEYS[7], KEYS[8], ended, now) end
ack_and_trim(KEYS[1], group, acks)
-- Only a call that acknowledged something counts the worker's starts: one re-sent after a lost
-- reply finds every entry acknowledged (all 0), and the call that landed counted them.
-- A rerun counts them too, the first time only (a re-sent one raised no count).
if (#acks > 0 or reruns > 0) and (tonumber(ARGV[9]) or 0) > 0 then
  add_count(KEYS[5], 'started', ARGV[9])
end
return out
