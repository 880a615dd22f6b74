-- A worker's heartbeat: its score in the workers set and its hash of counts, which expires
-- if the beats stop (a crash).
-- PEXPIRE comes first: it takes no memory, and Redis checks maxmemory inside a script only
-- before its first write, so a full Redis still takes the beat (it overwrites the same few
-- fields each time) and `info` does not show a worker that is draining the queue as gone.
--
-- KEYS[1] workers (zset)   KEYS[2] the worker's hash
-- ARGV[1] worker name   ARGV[2] hash TTL (ms)   ARGV[3..] field, value pairs
-- The beat's time is Redis' (the score, and `seen_at` in the hash): `info` judges it by the same clock.
-- Returns: 1.
--- @include clock
local now = clock_ms()
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], 'seen_at', now, unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
