-- Forget workers that stopped heart-beating (crashed, or cut off): remove them from the
-- workers set, delete their hash, and delete their consumer from the group when it holds no
-- pending entries (entries it still holds are left for claim.lua: deleting the consumer
-- would drop them from the pending list). A worker is gone when its hash is: the hash lives
-- 6 x the worker's own heartbeat interval past each beat (heartbeat.lua), and Redis' clock
-- expires it, so neither a host's skewed clock nor another worker's interval decides. A worker
-- that beat again meanwhile is kept.
--
-- KEYS[1] workers (zset)   KEYS[2] stream
-- ARGV[1] worker key prefix   ARGV[2] group   ARGV[3..] worker names
-- Returns: the names pruned.
local pruned = {}
for i = 3, #ARGV do
  local name = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], name) and redis.call('EXISTS', ARGV[1] .. name) == 0 then
    redis.call('ZREM', KEYS[1], name)
    local ok, pending = pcall(redis.call, 'XPENDING', KEYS[2], ARGV[2], '-', '+', 1, name)
    if ok and #pending == 0 then
      pcall(redis.call, 'XGROUP', 'DELCONSUMER', KEYS[2], ARGV[2], name)
    end
    pruned[#pruned + 1] = name
  end
end
return pruned
