-- Stamps the queue with the data format this Courier writes, unless it already has one, and
-- returns the format it has: the caller refuses a queue of another format (lib/engine/format.ts).
-- Run once per process, not per job: by a worker at start, before it writes anything else
-- there. A producer's first jobs write it themselves (enqueue.lua); it checked it at connect.
-- A write that takes no memory first (PERSIST of the hash, which never has a TTL): Redis checks
-- maxmemory only before a script's first write, so a worker still starts on a full Redis.
--
-- KEYS[1] meta (hash: format, created_at, `of`)
-- ARGV[1] the format this Courier writes  ARGV[2] (a shard of N > 1) N, the layout's count,
--   written as `of` with the format (enqueue.lua tells a shard of another layout by it)
-- Returns: the queue's format (text).
--- @include clock
redis.call('PERSIST', KEYS[1])
if redis.call('HSETNX', KEYS[1], 'format', ARGV[1]) == 1 then
  redis.call('HSETNX', KEYS[1], 'created_at', clock_ms())
  if ARGV[2] then redis.call('HSET', KEYS[1], 'of', ARGV[2]) end
end
return redis.call('HGET', KEYS[1], 'format')
