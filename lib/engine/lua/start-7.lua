-- Mark a batch of delivered entries as started and return what the worker needs to run them.
-- Entries that cannot run are settled here, in the same atomic step, so nothing stays pending:
--   no job id (garbled entry), job hash gone (expired or deleted), job already finished or
--   failed (a duplicate delivery), job key not a hash -> acknowledged and deleted;
--   a field missing or garbled (corrupt record) -> dead-lettered with what is wrong;
--   attempts used up (its previous worker died on the last attempt) -> dead-lettered;
--   a task this worker does not have -> left for a worker that has it, using no attempt: back
--   to the stream (at once, then through the delayed set with a back-off) when a live worker
--   has the task, else parked for the task until a worker that has it starts (serve-2.lua).
-- One bad record never fails the batch: the job key is read under pcall, and every field is
-- checked before it is used (a nil passed to a Redis command would end the whole script).
-- Each start opens a run in the job's history (include/history.lua), written
-- by the same HSET: no extra command. A start sent again for the same entry by the same worker
-- process (its first reply was lost) returns the run already started instead of counting an
-- attempt. "The same process" is its boot id (ARGV[8], made at each Worker.start, stored as
-- `boot`), not its name: a worker restarted under the same --name (the stack names its workers
-- stack-worker-<i>) takes back the entries its crashed predecessor held, and must count an
-- attempt for each, or a job that crashes its worker would run as attempt 1 for ever.
--
-- KEYS[1] stream   KEYS[2] dead (stream)   KEYS[3] events (stream)   KEYS[4] stats
-- KEYS[5] minutes (hash of per-minute counts)   KEYS[6] tasks (hash)   KEYS[7] delayed (zset)
-- ARGV[1] job key prefix   ARGV[2] group   ARGV[3] consumer   ARGV[4] failure TTL (s)
-- ARGV[5] dead max len   ARGV[6] events max len   ARGV[7] parked key prefix
-- ARGV[8] boot id (unique to this worker process)
-- ARGV[9] n, ARGV[10..9+n] the tasks this worker has; then, from m = 10 + n:
-- ARGV[m] 'read' or 'claim' (claims are counted in stats): ARGV[m+1..] pairs of entry id, job
--   id ('' when the entry had none), as delivered to this consumer;
--   or 'take': ARGV[m+1] = most entries; the script reads them itself (a non-blocking
--   XREADGROUP), so a worker under load gets new jobs in one call instead of two.
-- Returns a flat list, per entry: entry id, job id, then either the run number (an integer)
-- followed by attempt, max attempts, task, payload (run it), or a verdict ('bad', 'missing',
-- 'done', 'dead': settled here, do not run it; 'taken': a claimed entry no longer pending
-- here, left alone), or 'corrupt' (dead-lettered) or 'unreadable'
-- (key not a hash; acknowledged) followed by what is wrong, or 'deferred' or 'parked'
-- followed by the task. Flat and without keys, since each element of the reply costs Redis
-- time per job.
-- Or an error reply `ERR courier: key … holds a …` when a queue-wide key holds the wrong type
-- (checked before anything is read or written: wrong_type, include/wrongtype.lua).
--- @include clock
--- @include wrongtype
--- @include history
--- @include dead
--- @include memory
--- @include entries
local wrong = wrong_type({ KEYS[1], 'stream', KEYS[2], 'stream', KEYS[3], 'stream',
  KEYS[4], 'hash', KEYS[5], 'hash', KEYS[6], 'hash', KEYS[7], 'zset' })
if wrong then return wrong end
-- The start time is Redis' clock (the finish's is too): history times and run times that a
-- host's skewed clock cannot shift.
local prefix, group, consumer, now, boot = ARGV[1], ARGV[2], ARGV[3], clock_ms(), ARGV[8]
local out, started, dead, settled = {}, 0, 0, {}
local opening = opened(now, consumer) -- h:<run> = attempt .. opening (include/history.lua)
-- Where a job that may not run goes (include/dead.lua).
local grave = { dead = KEYS[2], dead_max = ARGV[5], events = KEYS[3], events_max = ARGV[6],
  ttl = ARGV[4], now = now }
local has = {} -- the tasks this worker has, made once per call
for i = 10, 9 + tonumber(ARGV[9]) do has[ARGV[i]] = true end
local mode = 10 + tonumber(ARGV[9])
local claiming = ARGV[mode] == 'claim'
-- A job left for another worker goes back to the stream at once the first time (a worker
-- blocked reading, idle, gets it then; not this one, busy running this script), later after
-- 50 ms, doubling, up to 1 s, give or take a quarter (so the delay does not keep step with
-- the workers' reads): a job that workers without its task keep taking costs them at most
-- about one start a second.
local DEFER_MS, DEFER_MAX_MS = 50, 1000

-- A whole number from 0 up, or nil (tonumber alone takes '0x1f', ' 2', 'nan', '1.5', and
-- reads '1' out of '1\0002'). Digits only, up to 15 of them: exact as a Lua number.
local function count(v)
  if v and #v > 0 and #v < 16 and not string.find(v, '%D') then return tonumber(v) end
end

-- Fails the job for good instead of running it: its previous worker died on its last attempt,
-- or its record is corrupt. `f` is the HMGET below; a missing field goes in the letter as ''.
-- Only a run still open (status 'started') is ended in the history.
local function bury(key, id, f, err)
  local earlier = redis.call('HGET', key, 'error')
  if earlier then err = err .. ' (earlier error: ' .. earlier .. ')' end
  local job = { task = f[1], payload = f[2], attempt = f[4], max_attempts = f[5] }
  local letter = add_letter(grave, id, job, err)
  record_failed(grave, key, id, letter, err, f[3] == 'started' and count(f[6]) or nil)
end

local RUNNABLE = { queued = true, started = true, retrying = true }

-- What is wrong with a job hash that is not finished or failed, or nil: every field the start
-- and a later dead letter use must be there and make sense.
local function flaw(f)
  if not f[1] then return 'no task' end
  if not f[2] then return 'no payload' end
  if not RUNNABLE[f[3] or ''] then return f[3] and 'unknown status' or 'no status' end
  if not count(f[4]) then return f[4] and 'attempt is not a number' or 'no attempt' end
  local max = count(f[5])
  if not max or max < 1 then
    return f[5] and 'max_attempts is not a number of 1 or more' or 'no max_attempts'
  end
  -- No runs yet is fine (none started); garbage would number this run 2.5, which no outcome
  -- could end (fail-6 compares run numbers).
  if f[6] and not count(f[6]) then return 'runs is not a number' end
end

-- Leaves a job whose task this worker does not have to a worker that has it, using no attempt.
local function leave_for_others(key, id, task)
  -- Live until its owner's record would expire (serve-2.lua: Redis' time plus six of the
  -- owner's own heartbeats), so a worker with a long interval is not taken for gone.
  local alive_until = tonumber(redis.call('HGET', KEYS[6], 'alive_until:' .. task))
  local parked = ARGV[7] .. task
  -- A parked set of the wrong type (rare path: checked here, not per batch) would fail the
  -- whole script: the job is deferred instead, and comes back until someone repairs the key.
  local t = redis.call('TYPE', parked).ok
  if (alive_until and alive_until >= now) or (t ~= 'none' and t ~= 'zset') then
    local n = count(redis.call('HGET', key, 'deferred')) or 0
    redis.call('HSET', key, 'status', 'queued', 'deferred', n + 1)
    if n == 0 then
      redis.call('XADD', KEYS[1], '*', 'id', id)
    else
      local jitter = 0.75 + (tonumber(now) % 97) / 194 -- now's last digits: spread enough
      local delay = math.floor(math.min(DEFER_MS * 2 ^ (n - 1), DEFER_MAX_MS) * jitter)
      redis.call('ZADD', KEYS[7], now + delay, id)
    end
    return 'deferred'
  end
  -- No live worker has it: parked until one starts (serve-2.lua takes it back), so no worker
  -- keeps taking it meanwhile. waiting_for tells `result` why it waits.
  if redis.call('ZADD', parked, now, id) == 1 then
    redis.call('HINCRBY', KEYS[6], 'parked:' .. task, 1)
  end
  redis.call('HSET', key, 'status', 'queued', 'waiting_for', task)
  return 'parked'
end

-- Appends one entry's part of the reply (no nils: a nil would end the list there).
local function put(entry, id, verdict, attempt, max, task, payload)
  local n = #out
  out[n + 1] = entry; out[n + 2] = id; out[n + 3] = verdict
  if type(verdict) == 'string' and attempt then
    out[n + 4] = attempt -- what is wrong, or the task
  elseif attempt then
    out[n + 4] = attempt; out[n + 5] = max; out[n + 6] = task; out[n + 7] = payload
  end
end

-- Started already by this worker process for this very entry (read only for a job 'started'):
-- by its boot id, not its name, which a restarted worker reuses (a boot id has one name).
local function started_here(key, entry)
  local w = redis.call('HMGET', key, 'entry', 'boot')
  return w[1] == entry and w[2] == boot
end

-- Settles an entry here, without running it.
local function settle(entry, id, verdict, why)
  settled[#settled + 1] = entry; put(entry, id, verdict, why)
end

local function start(entry, id)
  if id == '' then return settle(entry, id, 'bad') end
  -- A claimed entry whose job's outcome was recorded since the claim (by the worker it was
  -- taken from, which acknowledged it) is no longer pending here: starting its job on it would
  -- run the job on an entry no one can claim again. Claims only: a new read is this consumer's.
  if claiming and #redis.call('XPENDING', KEYS[1], group, entry, entry, 1, consumer) == 0 then
    return put(entry, id, 'taken')
  end
  local key = prefix .. id
  local ok, f = pcall(redis.call, 'HMGET', key, 'task', 'payload', 'status', 'attempt',
    'max_attempts', 'runs')
  if not ok then
    -- Not a hash (WRONGTYPE): nothing to run, nor to dead-letter.
    return settle(entry, id, 'unreadable', 'job key holds a ' .. redis.call('TYPE', key).ok)
  elseif not (f[1] or f[2] or f[3]) then
    return settle(entry, id, 'missing')
  elseif f[3] == 'finished' or f[3] == 'failed' then
    return settle(entry, id, 'done')
  end
  local attempt, max = tonumber(f[4]), tonumber(f[5])
  -- Checked inline (a function call per job costs more than all of these together); flaw()
  -- names what is wrong only when this fails.
  if not (f[1] and f[2] and RUNNABLE[f[3]] and attempt and max and max >= 1 and max < 2 ^ 53
      and not string.find(f[4], '%D') and not string.find(f[5], '%D')
      and (not f[6] or (#f[6] > 0 and #f[6] < 16 and not string.find(f[6], '%D')))) then
    local wrong = flaw(f) or 'unreadable fields'
    bury(key, id, f, 'corrupt record: ' .. wrong)
    dead = dead + 1
    return settle(entry, id, 'corrupt', wrong)
  end
  if f[3] == 'started' and started_here(key, entry) then
    -- This very start, sent again after its reply was lost: the same run, no new attempt.
    put(entry, id, tonumber(f[6]) or 1, attempt, max, f[1], f[2])
  elseif not has[f[1]] then
    settle(entry, id, leave_for_others(key, id, f[1]), f[1])
  elseif attempt >= max then
    bury(key, id, f, 'abandoned: its worker stopped during attempt ' .. attempt .. ' of ' .. max)
    dead = dead + 1
    settle(entry, id, 'dead')
  else
    attempt = attempt + 1
    local run = (tonumber(f[6]) or 0) + 1
    redis.call('HSET', key, 'status', 'started', 'attempt', attempt, 'worker', consumer,
      'boot', boot, 'entry', entry, 'started_at', now, 'runs', run, run_field(run),
      attempt .. opening)
    if run > HISTORY_KEPT then forget_old_run(key, run) end
    started = started + 1
    put(entry, id, run, attempt, max, f[1], f[2])
  end
end

if ARGV[mode] == 'take' then
  local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', ARGV[mode + 1],
    'STREAMS', KEYS[1], '>')
  for _, e in ipairs(read and read[1][2] or {}) do
    local id, fields = '', e[2] or {}
    for j = 1, #fields - 1, 2 do
      if fields[j] == 'id' then id = fields[j + 1]; break end
    end
    start(e[1], id)
  end
else
  write_without_memory(KEYS[1]) -- so a full Redis lets the starts through (include/memory.lua)
  for i = mode + 1, #ARGV, 2 do start(ARGV[i], ARGV[i + 1]) end
end
if started > 0 then
  redis.call('HINCRBY', KEYS[4], 'started', started)
  if ARGV[mode] == 'claim' then redis.call('HINCRBY', KEYS[4], 'claimed', started) end
end
if dead > 0 then
  redis.call('HINCRBY', KEYS[4], 'failed', dead)
  redis.call('HINCRBY', KEYS[4], 'dead', dead)
  -- Counted in this minute's bucket; finish and fail trim old buckets (rare here: no trim).
  redis.call('HINCRBY', KEYS[5], math.floor(tonumber(now) / 60000) .. ':failed', dead)
end
-- Last: an error before here (Redis does not roll a script back) leaves these entries pending.
ack_and_trim(KEYS[1], group, settled)
return out
