-- Records a new queue's shard count (lib/engine/layout.ts), unless the queue exists: a meta
-- with a count, or with a format (a one-shard queue's first jobs write its format, not a count,
-- in this same key), keeps what it has. Then says what the queue has.
--
-- KEYS[1] the queue's layout key `{queue}:meta` (a one-shard queue's meta)
-- ARGV[1] the shard count to record
-- Returns: { shards or nil, format or nil }.
if redis.call('HEXISTS', KEYS[1], 'format') == 0 then
  redis.call('HSETNX', KEYS[1], 'shards', ARGV[1])
end
return redis.call('HMGET', KEYS[1], 'shards', 'format')
