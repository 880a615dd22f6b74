-- A worker's heartbeat: its score in the workers set and its hash of counts, which expires
-- if the beats stop (a crash).
-- PEXPIRE comes first: it takes no memory, and Redis checks maxmemory inside a script only
-- before its first write, so a full Redis still takes the beat (it overwrites the same few
-- fields each time) and `info` does not show a worker that is draining the queue as gone.
-- The hash names the start that holds the name (`start`, name.lua): a process that stalled past
-- its hash's TTL may find its name taken by a later start (a restart with the same --name). It
-- then writes nothing (the hash is the other start's) and is told so: it must stop reading,
-- since the entries pending on the name are the other start's now (docs/internals.md, "A name
-- taken over"). A hash that expired with no one taking it is written again, as ours.
--
-- KEYS[1] workers (zset)   KEYS[2] the worker's hash
-- ARGV[1] worker name   ARGV[2] hash TTL (ms)   ARGV[3] this start's token
-- ARGV[4..] field, value pairs
-- The beat's time is Redis' (the score, and `seen_at` in the hash): `info` judges it by the same clock.
-- Returns: 1, or 0 when another start holds the name (nothing written).
--- @include clock
local now = clock_ms()
local holder = redis.call('HGET', KEYS[2], 'start')
if holder and holder ~= ARGV[3] then return 0 end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], 'seen_at', now, 'start', ARGV[3], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
