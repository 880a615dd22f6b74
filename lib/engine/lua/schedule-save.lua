-- A schedule's definition and its next tick written together (add, replace, pause, resume,
-- remove): the two keys share the schedules' tag, so no scheduler ever reads one without the
-- other. A paused schedule has no next tick (schedulers never see it).
--
-- KEYS[1] defs (hash name -> JSON)  KEYS[2] next (zset name -> next tick ms)
-- ARGV[1] op: 'add' (only if the name is new), 'put' (add or replace), 'swap' (replace only
--   if the stored JSON is still ARGV[5]: a pause or resume racing another change loses, and is
--   told), 'remove'
-- ARGV[2] name  ARGV[3] definition JSON  ARGV[4] next tick ms ('' = none: paused, or it ends)
-- ARGV[5] the stored JSON a swap expects
-- Returns 1 when written (removed), 0 when not (add: the name exists; swap: it changed or is
--   gone; remove: there was none).
local op, name = ARGV[1], ARGV[2]
if op == 'remove' then
  redis.call('ZREM', KEYS[2], name)
  return redis.call('HDEL', KEYS[1], name)
end
if op == 'add' and redis.call('HEXISTS', KEYS[1], name) == 1 then return 0 end
if op == 'swap' and redis.call('HGET', KEYS[1], name) ~= ARGV[5] then return 0 end
redis.call('HSET', KEYS[1], name, ARGV[3])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[2], name)
else
  redis.call('ZADD', KEYS[2], ARGV[4], name)
end
return 1
