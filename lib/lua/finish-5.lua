-- Record the results of a batch of jobs and settle their entries. The first finisher wins:
-- a job already finished or failed (a duplicate run) keeps its first result. A job whose hash
-- is gone (expired, deleted) is not recreated. Either way the entry is acknowledged and
-- deleted, so it can never be delivered again.
-- A recorded finish also closes this worker's attempt in the job's `history` (same HSET), and
-- is counted, per batch, in this minute's bucket and in the run-time histogram.
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

-- The attempt this worker is closing: its latest open one, else the latest open one at all.
local function open_attempt(h)
  for j = #h, 1, -1 do
    if not h[j]['end'] and h[j].worker == consumer then return h[j] end
  end
  for j = #h, 1, -1 do
    if not h[j]['end'] then return h[j] end
  end
end

-- Per-minute counts: fields older than ARGV[7] minutes are deleted once, when a new minute
-- starts, so the hash stays small (O(1) amortised per batch).
local function count_minute(key, name, n)
  local minute, kept = math.floor(now / 60000), tonumber(ARGV[7])
  local trimmed = tonumber(redis.call('HGET', key, 'trimmed'))
  if trimmed and minute - trimmed >= kept then
    redis.call('DEL', key) -- nothing counted for longer than we keep: all of it is too old
  elseif trimmed and minute > trimmed then
    local old = {}
    for m = trimmed - kept + 1, minute - kept do
      old[#old + 1] = m .. ':finished'; old[#old + 1] = m .. ':failed'
      old[#old + 1] = m .. ':retried'
    end
    if #old > 0 then redis.call('HDEL', key, unpack(old)) end
  end
  if not trimmed or minute > trimmed then redis.call('HSET', key, 'trimmed', minute) end
  redis.call('HINCRBY', key, minute .. ':' .. name, n)
end

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
    local ok, h = pcall(cjson.decode, f[3] or '[]')
    local fields = { 'status', 'finished', 'result', ARGV[i + 2], 'ended_at', now }
    if ok and type(h) == 'table' then
      local a = open_attempt(h)
      if a then
        a['end'], a.outcome = now, 'finished'
        started = tonumber(a.start) or started
        fields[#fields + 1] = 'history'; fields[#fields + 1] = cjson.encode(h)
      end
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
  count_minute(KEYS[4], 'finished', finished)
  for bucket, n in pairs(buckets) do redis.call('HINCRBY', KEYS[5], bucket, n) end
  redis.call('HINCRBY', KEYS[5], 'count', finished)
  redis.call('HINCRBY', KEYS[5], 'sum_ms', sum)
end
return out
