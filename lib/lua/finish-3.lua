-- Record the results of a batch of jobs and settle their entries. The first finisher wins:
-- a job already finished or failed (a duplicate run) keeps its first result. A job whose hash
-- is gone (expired, deleted) is not recreated. Either way the entry is acknowledged and
-- deleted, so it can never be delivered again.
--
-- KEYS[1] stream   KEYS[2] events (stream)   KEYS[3] stats
-- ARGV[1] job key prefix  ARGV[2] group  ARGV[3] now (ms)  ARGV[4] result TTL (s)
-- ARGV[5] events max len
-- ARGV[6..] triples: entry id, job id, result (JSON)
-- Returns: one integer per job, 1 = recorded, 0 = already terminal, -1 = job hash gone.
local prefix, group, now = ARGV[1], ARGV[2], ARGV[3]
local out, finished = {}, 0
for i = 6, #ARGV, 3 do
  local entry, id = ARGV[i], ARGV[i + 1]
  local key = prefix .. id
  local status = redis.call('HGET', key, 'status')
  if not status then
    out[#out + 1] = -1
  elseif status == 'finished' or status == 'failed' then
    out[#out + 1] = 0
  else
    redis.call('HSET', key, 'status', 'finished', 'result', ARGV[i + 2], 'ended_at', now)
    redis.call('HDEL', key, 'error')
    redis.call('EXPIRE', key, ARGV[4])
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'type', 'finished', 'id', id)
    finished = finished + 1
    out[#out + 1] = 1
  end
  redis.call('XACK', KEYS[1], group, entry)
  redis.call('XDEL', KEYS[1], entry)
end
if finished > 0 then redis.call('HINCRBY', KEYS[3], 'finished', finished) end
return out
