-- Running slots of limit keys freed (docs/internals.md, "Rate limits"): jobs of a key with a
-- key concurrency ended (or never started), and the first jobs waiting for a slot of that key
-- are woken, in order, one per slot now free. Under the queue's tag. A woken job keeps its
-- place in the waiting list (scored negative) until it starts: if another job took the slot
-- first, it waits again where it was.
--
-- KEYS[1] layout (hash: key_concurrency)
-- ARGV[1] running prefix  ARGV[2] waiting prefix
-- ARGV[3..] pairs: job id, limit key
-- Returns the woken jobs' waiting members, `<shard>|<job id>` (the worker moves each from its
-- shard's delayed set to its stream: wake.lua).
--- @include clock
local now = clock_ms()
local kc = tonumber(redis.call('HGET', KEYS[1], 'key_concurrency'))
local woken, keys = {}, {}
for i = 3, #ARGV, 2 do
  redis.call('ZREM', ARGV[1] .. ARGV[i + 1], ARGV[i])
  keys[ARGV[i + 1]] = true
end
for key in pairs(keys) do
  local running, waiting = ARGV[1] .. key, ARGV[2] .. key
  redis.call('ZREMRANGEBYSCORE', running, '-inf', now)
  -- No concurrency any more (the limit was cleared): wake them all, 100 per call.
  local free = kc and (kc - redis.call('ZCARD', running)) or 100
  if free > 0 then
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', waiting, '(0', '+inf', 'LIMIT', 0, free)) do
      redis.call('ZADD', waiting, -redis.call('ZSCORE', waiting, m), m)
      woken[#woken + 1] = m
    end
  end
end
return woken
