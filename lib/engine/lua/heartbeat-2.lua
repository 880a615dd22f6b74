-- A worker's heartbeat: its score in the workers set and its hash of counts, which expires
-- if the beats stop (a crash).
-- PEXPIRE comes first: it takes no memory, and Redis checks maxmemory inside a script only
-- before its first write, so a full Redis still takes the beat (it overwrites the same few
-- fields each time) and `info` does not show a worker that is draining the queue as gone.
--
-- KEYS[1] workers (zset)   KEYS[2] the worker's hash
-- ARGV[1] now (ms)   ARGV[2] worker name   ARGV[3] hash TTL (ms)   ARGV[4..] field, value pairs
-- Returns: 1.
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
