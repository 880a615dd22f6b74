-- Settle a batch of failed attempts. Each job either waits in the delayed set for its retry
-- (status 'retrying') or, when it may not run again, fails for good: status 'failed', a dead
-- letter, and the failure TTL. A job already finished or failed is left as it is.
-- The entry is acknowledged and deleted in every case; a retry adds a fresh entry later.
--
-- KEYS[1] stream  KEYS[2] delayed (zset)  KEYS[3] dead (stream)  KEYS[4] events  KEYS[5] stats
-- ARGV[1] job key prefix  ARGV[2] group  ARGV[3] now (ms)  ARGV[4] failure TTL (s)
-- ARGV[5] dead max len    ARGV[6] events max len
-- ARGV[7..] quadruples: entry id, job id, error, retry at (ms; 0 = no retry, fail now)
-- Returns: one integer per job, 1 = will retry, 2 = failed (dead letter), 0 = already
-- terminal, -1 = job hash gone.
local prefix, group, now = ARGV[1], ARGV[2], ARGV[3]
local out = {}
for i = 7, #ARGV, 4 do
  local entry, id, err, retry_at = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local key = prefix .. id
  local f = redis.call('HMGET', key, 'status', 'task', 'attempt', 'payload')
  if not f[1] then
    out[#out + 1] = -1
  elseif f[1] == 'finished' or f[1] == 'failed' then
    out[#out + 1] = 0
  elseif retry_at > 0 then
    redis.call('HSET', key, 'status', 'retrying', 'error', err)
    redis.call('ZADD', KEYS[2], retry_at, id)
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', 'type', 'retried', 'id', id)
    redis.call('HINCRBY', KEYS[5], 'retried', 1)
    out[#out + 1] = 1
  else
    redis.call('HSET', key, 'status', 'failed', 'error', err, 'ended_at', now)
    redis.call('EXPIRE', key, ARGV[4])
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'id', id, 'task', f[2],
      'error', err, 'attempts', f[3], 'payload', f[4])
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', 'type', 'failed', 'id', id)
    redis.call('HINCRBY', KEYS[5], 'failed', 1)
    redis.call('HINCRBY', KEYS[5], 'dead', 1)
    out[#out + 1] = 2
  end
  redis.call('XACK', KEYS[1], group, entry)
  redis.call('XDEL', KEYS[1], entry)
end
return out
