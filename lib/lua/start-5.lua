-- Mark a batch of delivered entries as started and return what the worker needs to run them.
-- Entries that cannot run are settled here, in the same atomic step, so nothing stays pending:
--   no job id (garbled entry), job hash gone (expired or deleted), job already finished or
--   failed (a duplicate delivery) -> acknowledged and deleted;
--   attempts used up (its previous worker died on the last attempt) -> dead-lettered.
-- Each start opens a run in the job's history (helpers in _attempts.lua, prepended), written
-- by the same HSET: no extra command. A start sent again for the same entry by the same worker
-- (its first reply was lost) returns the run already started instead of counting an attempt.
--
-- KEYS[1] stream   KEYS[2] dead (stream)   KEYS[3] events (stream)   KEYS[4] stats
-- KEYS[5] minutes (hash of per-minute counts)
-- ARGV[1] job key prefix   ARGV[2] group   ARGV[3] consumer   ARGV[4] now (ms)
-- ARGV[5] failure TTL (s)  ARGV[6] dead max len   ARGV[7] events max len
-- ARGV[8] 'read' or 'claim' (claims are counted in stats): ARGV[9..] pairs of entry id, job id
--   ('' when the entry had none), as delivered to this consumer;
--   or 'take': ARGV[9] = most entries; the script reads them itself (a non-blocking
--   XREADGROUP), so a worker under load gets new jobs in one call instead of two.
-- Returns a flat list, per entry: entry id, job id, then either the run number (an integer)
-- followed by attempt, max attempts, task, payload (run it), or a verdict ('bad', 'missing',
-- 'done', 'dead': settled here, do not run it). Flat and without keys, since each element of
-- the reply costs Redis time per job.
local prefix, group, consumer, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local out, started, dead, settled = {}, 0, 0, {}
local opening = opened(now, consumer) -- h:<run> = attempt .. opening (_attempts.lua)

-- The previous worker died on the job's last attempt: fail it for good instead of running it.
local function bury(key, id, f, attempt, max)
  local err = 'abandoned: its worker stopped during attempt ' .. attempt .. ' of ' .. max
  local earlier = redis.call('HGET', key, 'error')
  if earlier then err = err .. ' (earlier error: ' .. earlier .. ')' end
  local letter = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'id', id,
    'task', f[1], 'error', err, 'attempts', attempt, 'payload', f[2], 'max_attempts', max)
  -- dead_entry lets `dead requeue ID` find the letter without scanning the dead stream.
  local fields = { 'status', 'failed', 'error', err, 'ended_at', now, 'dead_entry', letter }
  redis.call('HSET', key, unpack(end_fields(fields, tonumber(f[6]), now, 'failed', err)))
  redis.call('EXPIRE', key, ARGV[5])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'type', 'failed', 'id', id)
end

-- Appends one entry's part of the reply (no nils: a nil would end the list there).
local function put(entry, id, verdict, attempt, max, task, payload)
  local n = #out
  out[n + 1] = entry; out[n + 2] = id; out[n + 3] = verdict
  if attempt then
    out[n + 4] = attempt; out[n + 5] = max; out[n + 6] = task; out[n + 7] = payload
  end
end

-- Started already by this consumer for this very entry (read only for a job 'started').
local function started_here(key, entry)
  local w = redis.call('HMGET', key, 'worker', 'entry')
  return w[1] == consumer and w[2] == entry
end

local function start(entry, id)
  local key = prefix .. id
  local f = id ~= '' and redis.call('HMGET', key, 'task', 'payload', 'status', 'attempt',
    'max_attempts', 'runs') or {}
  if id == '' then
    settled[#settled + 1] = entry; put(entry, id, 'bad')
  elseif not f[1] then
    settled[#settled + 1] = entry; put(entry, id, 'missing')
  elseif f[3] == 'finished' or f[3] == 'failed' then
    settled[#settled + 1] = entry; put(entry, id, 'done')
  elseif f[3] == 'started' and started_here(key, entry) then
    -- This very start, sent again after its reply was lost: the same run, no new attempt.
    put(entry, id, tonumber(f[6]) or 1, tonumber(f[4]) or 1, tonumber(f[5]) or 1, f[1],
      f[2] or 'null')
  else
    local attempt, max = tonumber(f[4]) or 0, tonumber(f[5]) or 1
    if attempt >= max then
      bury(key, id, f, attempt, max)
      dead = dead + 1
      settled[#settled + 1] = entry; put(entry, id, 'dead')
    else
      attempt = attempt + 1
      local run = (tonumber(f[6]) or 0) + 1
      redis.call('HSET', key, 'status', 'started', 'attempt', attempt, 'worker', consumer,
        'entry', entry, 'started_at', now, 'runs', run, run_field(run), attempt .. opening)
      if run > HISTORY_KEPT then forget_old_run(key, run) end
      started = started + 1
      put(entry, id, run, attempt, max, f[1], f[2] or 'null')
    end
  end
end

if ARGV[8] == 'take' then
  local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', ARGV[9],
    'STREAMS', KEYS[1], '>')
  for _, e in ipairs(read and read[1][2] or {}) do
    local id, fields = '', e[2] or {}
    for j = 1, #fields - 1, 2 do
      if fields[j] == 'id' then id = fields[j + 1]; break end
    end
    start(e[1], id)
  end
else
  write_without_memory(KEYS[1]) -- so a full Redis lets the starts through (_attempts.lua)
  for i = 9, #ARGV, 2 do start(ARGV[i], ARGV[i + 1]) end
end
settle_entries(KEYS[1], group, settled)
if started > 0 then
  redis.call('HINCRBY', KEYS[4], 'started', started)
  if ARGV[8] == 'claim' then redis.call('HINCRBY', KEYS[4], 'claimed', started) end
end
if dead > 0 then
  redis.call('HINCRBY', KEYS[4], 'failed', dead)
  redis.call('HINCRBY', KEYS[4], 'dead', dead)
  -- Counted in this minute's bucket; finish and fail trim old buckets (rare here: no trim).
  redis.call('HINCRBY', KEYS[5], math.floor(tonumber(now) / 60000) .. ':failed', dead)
end
return out
