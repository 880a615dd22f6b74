-- Record the results of a batch of jobs and settle their entries. The first finisher wins:
-- a job already finished or failed (a duplicate run) keeps its first result. A job whose hash
-- is gone (expired, deleted) is not recreated. Either way the entry is acknowledged and
-- removed from the stream (one XACK for the whole batch, then a trim behind the oldest pending
-- entry: see ack_and_trim in include/entries.lua), so it can never be delivered again: the job is
-- done (a finish of a run another worker took over that wins ends the job all the same).
-- Order: a write that takes no memory first (Redis checks maxmemory only before a script's
-- first write, so a full Redis still lets the results be recorded), the acknowledgements last
-- (a script error half-way, which Redis does not roll back, leaves every entry pending rather
-- than one acknowledged and unrecorded). Queue-wide keys of the wrong type are refused before
-- any write (wrong_type, include/wrongtype.lua).
-- A recorded finish also ends its run in the job's history (same HSET), and is counted, per
-- batch, in this minute's bucket and in the run-time histogram.
--
-- KEYS[1] stream   KEYS[2] events (stream)   KEYS[3] stats   KEYS[4] minutes (hash)
-- KEYS[5] durations (hash: histogram of run times)
-- ARGV[1] job key prefix  ARGV[2] group  ARGV[3] result TTL (s)
-- ARGV[4] events max len (jobs)  ARGV[5] minutes of per-minute counts kept
-- ARGV[6..] quadruples: entry id, job id, run (from the start script), result (JSON)
-- Returns: one integer per job, 1 = recorded, 0 = already terminal, -1 = job hash gone,
-- -2 = job key not a hash (corrupt). Or an error reply `ERR courier: key … holds a …`
-- (nothing written).
--- @include clock
--- @include wrongtype
--- @include history
--- @include minutes
--- @include memory
--- @include entries
local wrong = wrong_type({ KEYS[1], 'stream', KEYS[2], 'stream', KEYS[3], 'hash',
  KEYS[4], 'hash', KEYS[5], 'hash' })
if wrong then return wrong end
local prefix, group, now = ARGV[1], ARGV[2], clock_ms() -- Redis' clock, as the start's
-- Histogram bounds in ms; keep in step with DURATION_BOUNDS_MS in lib/admin/metrics.ts.
local BOUNDS = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000 }
local BUCKETS = {} -- the field names, made once per call rather than once per job
for i, b in ipairs(BOUNDS) do BUCKETS[i] = tostring(b) end
local out, finished, buckets, sum, entries, recorded = {}, 0, {}, 0, {}, {}
local ended = ended_as(now, 'finished') -- the same for every job of the batch

for i = 6, #ARGV, 4 do entries[#entries + 1] = ARGV[i] end
write_without_memory(KEYS[1])
for i = 6, #ARGV, 4 do
  local id, run = ARGV[i + 1], tonumber(ARGV[i + 2])
  local key = prefix .. id
  -- Under pcall: a job key that is no longer a hash must not fail the batch (-2, settled).
  local ok, f = pcall(redis.call, 'HMGET', key, 'status', 'started_at', 'error')
  local status = ok and f[1]
  if not ok then
    out[#out + 1] = -2
  elseif not status then
    out[#out + 1] = -1
  elseif status == 'finished' or status == 'failed' then
    out[#out + 1] = 0
  else
    if run and run >= 1 then
      redis.call('HSET', key, 'status', 'finished', 'result', ARGV[i + 3], 'ended_at', now,
        end_field(run), ended)
    else
      redis.call('HSET', key, 'status', 'finished', 'result', ARGV[i + 3], 'ended_at', now)
    end
    if f[3] then redis.call('HDEL', key, 'error') end
    redis.call('EXPIRE', key, ARGV[3])
    recorded[#recorded + 1] = id
    local ms = math.max(0, now - (tonumber(f[2]) or now))
    local bucket = 'inf'
    for j = 1, #BOUNDS do
      if ms <= BOUNDS[j] then bucket = BUCKETS[j]; break end
    end
    buckets[bucket] = (buckets[bucket] or 0) + 1
    sum = sum + ms
    finished = finished + 1
    out[#out + 1] = 1
  end
end
if finished > 0 then
  -- One event for the whole batch (ids joined by commas: job ids never hold one), which wakes
  -- every waiter for any of these jobs.
  -- The events stream keeps about ARGV[4] jobs' events, not ARGV[4] entries: an entry
  -- naming a batch of 100 jobs holds 100 ids, and a count of entries would let its memory grow
  -- with the batch size.
  local keep = math.max(1, math.ceil(tonumber(ARGV[4]) / #recorded))
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', keep, '*', 'type', 'finished', 'ids',
    table.concat(recorded, ','))
  redis.call('HINCRBY', KEYS[3], 'finished', finished)
  count_minute(KEYS[4], now, tonumber(ARGV[5]), 'finished', finished)
  for bucket, n in pairs(buckets) do redis.call('HINCRBY', KEYS[5], bucket, n) end
  redis.call('HINCRBY', KEYS[5], 'count', finished)
  redis.call('HINCRBY', KEYS[5], 'sum_ms', sum)
end
ack_and_trim(KEYS[1], group, entries)
return out
