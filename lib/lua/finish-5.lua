-- Record the results of a batch of jobs and settle their entries. The first finisher wins:
-- a job already finished or failed (a duplicate run) keeps its first result. A job whose hash
-- is gone (expired, deleted) is not recreated. Either way the entry is acknowledged and
-- deleted, so it can never be delivered again.
-- A recorded finish also closes this worker's attempt in the job's `history` (same HSET), and
-- is counted, per batch, in this minute's bucket and in the run-time histogram (helpers in
-- _attempts.lua, prepended).
--
-- KEYS[1] stream   KEYS[2] events (stream)   KEYS[3] stats   KEYS[4] minutes (hash)
-- KEYS[5] durations (hash: histogram of run times)
-- ARGV[1] job key prefix  ARGV[2] group  ARGV[3] now (ms)  ARGV[4] result TTL (s)
-- ARGV[5] events max len  ARGV[6] consumer  ARGV[7] minutes of per-minute counts kept
-- ARGV[8..] triples: entry id, job id, result (JSON)
-- Returns: one integer per job, 1 = recorded, 0 = already terminal, -1 = job hash gone.
local prefix, group, now, consumer = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[6]
-- Histogram bounds in ms; keep in step with DURATION_BOUNDS_MS in lib/admin/metrics.ts.
local BOUNDS = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000 }
local out, finished, buckets, sum = {}, 0, {}, 0

for i = 8, #ARGV, 3 do
  local entry, id = ARGV[i], ARGV[i + 1]
  local key = prefix .. id
  local f = redis.call('HMGET', key, 'status', 'started_at', 'history')
  local status = f[1]
  if not status then
    out[#out + 1] = -1
  elseif status == 'finished' or status == 'failed' then
    out[#out + 1] = 0
  else
    local started = tonumber(f[2]) or now
    local h = decode_history(f[3])
    local a = open_attempt(h, consumer)
    local fields = { 'status', 'finished', 'result', ARGV[i + 2], 'ended_at', now }
    if a then
      a['end'], a.outcome = now, 'finished'
      started = tonumber(a.start) or started
      fields[#fields + 1] = 'history'; fields[#fields + 1] = cjson.encode(h)
    end
    redis.call('HSET', key, unpack(fields))
    redis.call('HDEL', key, 'error')
    redis.call('EXPIRE', key, ARGV[4])
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'type', 'finished', 'id', id)
    local ms = math.max(0, now - started)
    local bucket = 'inf'
    for _, b in ipairs(BOUNDS) do
      if ms <= b then bucket = tostring(b); break end
    end
    buckets[bucket] = (buckets[bucket] or 0) + 1
    sum = sum + ms
    finished = finished + 1
    out[#out + 1] = 1
  end
  redis.call('XACK', KEYS[1], group, entry)
  redis.call('XDEL', KEYS[1], entry)
end
if finished > 0 then
  redis.call('HINCRBY', KEYS[3], 'finished', finished)
  count_minute(KEYS[4], now, tonumber(ARGV[7]), 'finished', finished)
  for bucket, n in pairs(buckets) do redis.call('HINCRBY', KEYS[5], bucket, n) end
  redis.call('HINCRBY', KEYS[5], 'count', finished)
  redis.call('HINCRBY', KEYS[5], 'sum_ms', sum)
end
return out
