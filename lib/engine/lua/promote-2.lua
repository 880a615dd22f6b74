-- Move jobs whose retry back-off (or delayed enqueue) is over from the delayed set back to
-- the stream. Any worker may run it; ZREM before XADD inside one script means two workers
-- can never both re-add the same job.
--
-- KEYS[1] delayed (zset)   KEYS[2] stream
-- ARGV[1] job key prefix   ARGV[2] most jobs moved per call
-- Due means due by Redis' clock (the scores are Redis times too: enqueue-3.lua, fail-6.lua).
-- Returns: number of jobs moved. Or an error reply `ERR courier: key … holds a …` when a key
-- holds the wrong type, with nothing written (wrong_type, include/wrongtype.lua): a WRONGTYPE from the
-- XADD would come after the ZREM and the status, losing a job per call.
--- @include clock
--- @include wrongtype
local wrong = wrong_type({ KEYS[1], 'zset', KEYS[2], 'stream' })
if wrong then return wrong end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', clock_ms(), 'LIMIT', 0, ARGV[2])
local moved = 0
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[1] .. id
  -- Under pcall: a job key that is not a hash goes to the stream as it is, where the start
  -- script settles it with a logged reason (failing here would stop every promotion).
  local ok, status = pcall(redis.call, 'HGET', key, 'status')
  if not ok then
    redis.call('XADD', KEYS[2], '*', 'id', id)
  -- A hash that expired or was deleted while waiting has nothing left to run.
  elseif status == 'retrying' or status == 'queued' then
    redis.call('HSET', key, 'status', 'queued')
    redis.call('XADD', KEYS[2], '*', 'id', id)
    moved = moved + 1
  end
end
return moved
