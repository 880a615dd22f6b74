-- A schedule's definition and its next tick written together (add, replace, pause, resume,
-- remove): the keys share the schedules' tag, so no scheduler ever reads one without the
-- other. A paused schedule has no next tick (schedulers never see it). A schedule's next tick
-- is in its queue's `next` zset (KEYS[5] .. queue), which is in `queues` while it has one;
-- `where` says which queue, so a replace that moves it to another queue leaves nothing behind.
-- Its name is in its queue's `names` zset (KEYS[5]'s sibling ARGV[8] .. queue, score 0), paused
-- or not: what lists and counts one queue's schedules without reading the others'.
-- Any write forgets a back-off (`failing`: the schedule failed to fire): the definition changed.
--
-- KEYS[1] defs (hash name -> JSON)  KEYS[2] where (hash name -> queue)  KEYS[3] queues (set)
-- KEYS[4] failing (hash name -> '<tick> <failures>')
-- ARGV[1] op: 'add' (only if the name is new), 'swap' (replace only
--   if the stored JSON is still ARGV[5]: a pause, resume or replace racing another change loses,
--   and is told), 'remove'
-- ARGV[2] name  ARGV[3] definition JSON  ARGV[4] next tick ms ('' = none: paused, or it ends)
-- ARGV[5] the stored JSON a swap expects  ARGV[6] the schedule's queue
-- ARGV[7] what a queue's `next` key starts with (the queue is appended; same tag)
-- ARGV[8] what a queue's `names` key starts with (the same)
-- Returns 1 when written (removed), 0 when not (add: the name exists; swap: it changed or is
--   gone; remove: there was none).
local op, name, prefix, names = ARGV[1], ARGV[2], ARGV[7], ARGV[8]

-- Takes the name out of its queue's zset, and the queue out of `queues` once it has none.
local function unlist(queue)
  if not queue then return end
  local key = prefix .. queue
  redis.call('ZREM', key, name)
  if redis.call('ZCARD', key) == 0 then redis.call('SREM', KEYS[3], queue) end
end

local old = redis.call('HGET', KEYS[2], name)
if op == 'remove' then
  unlist(old)
  if old then redis.call('ZREM', names .. old, name) end
  redis.call('HDEL', KEYS[2], name)
  redis.call('HDEL', KEYS[4], name)
  return redis.call('HDEL', KEYS[1], name)
end
if op == 'add' and redis.call('HEXISTS', KEYS[1], name) == 1 then return 0 end
if op == 'swap' and redis.call('HGET', KEYS[1], name) ~= ARGV[5] then return 0 end
local queue = ARGV[6]
redis.call('HSET', KEYS[1], name, ARGV[3])
redis.call('HSET', KEYS[2], name, queue)
redis.call('HDEL', KEYS[4], name)
if old ~= queue then
  unlist(old)
  if old then redis.call('ZREM', names .. old, name) end
end
redis.call('ZADD', names .. queue, 0, name)
if ARGV[4] == '' then
  unlist(queue)
else
  redis.call('ZADD', prefix .. queue, ARGV[4], name)
  redis.call('SADD', KEYS[3], queue)
end
return 1
