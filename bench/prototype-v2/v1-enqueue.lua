-- Enqueue a batch of jobs: write each job hash and add its id to the stream (or to the
-- delayed set when it is due later), atomically per job and in one round trip per batch.
-- A job id that already has a hash is left alone: a caller-given id is an idempotency key.
--
-- KEYS[1] stream        KEYS[2] delayed (zset)        KEYS[3] stats (hash)
-- ARGV[1] job key prefix
-- ARGV[2] 1 = skip ids that have a hash; 0 = the caller vouches that none has (ids it just made,
--         sent for the first time), and the check is left out
-- ARGV[3..] groups of 5: id, task, payload (JSON), max attempts, delay (ms; 0 = now), due at
--   Redis' time plus the delay: the producer's clock may be off
-- Returns: one integer per job, 1 = enqueued, 0 = already existed. Or an error reply
-- `ERR courier: key … holds a …` when a queue-wide key holds the wrong type, with nothing written
-- (wrong_type, include/wrongtype.lua): a WRONGTYPE from the XADD would leave a job recorded and in no
-- stream, which a rerun with its id would then skip; one from the HINCRBY, jobs queued but
-- reported as not, which a rerun without ids would enqueue again.
--- @include clock
--- @include wrongtype
local wrong = wrong_type({ KEYS[1], 'stream', KEYS[2], 'zset', KEYS[3], 'hash' })
if wrong then return wrong end
local prefix, now, check = ARGV[1], clock_ms(), ARGV[2] == '1'
local out, added = {}, 0
for i = 3, #ARGV, 5 do
  local id = ARGV[i]
  local key = prefix .. id
  if check and redis.call('EXISTS', key) == 1 then
    out[#out + 1] = 0
  else
    redis.call('HSET', key, 'task', ARGV[i + 1], 'payload', ARGV[i + 2], 'status', 'queued',
      'attempt', 0, 'max_attempts', ARGV[i + 3], 'enqueued_at', now)
    local delay = tonumber(ARGV[i + 4])
    if delay > 0 then
      redis.call('ZADD', KEYS[2], now + delay, id)
    else
      redis.call('XADD', KEYS[1], '*', 'id', id)
    end
    added = added + 1
    out[#out + 1] = 1
  end
end
if added > 0 then redis.call('HINCRBY', KEYS[3], 'enqueued', added) end
return out
