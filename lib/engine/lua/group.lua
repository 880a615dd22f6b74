-- Create the workers' consumer group (reading from the start of the stream: jobs may predate
-- it), and the stream if there is none yet. BUSYGROUP (it exists) is fine.
-- A full Redis (maxmemory, noeviction) refuses XGROUP CREATE even when the group exists, and a
-- queue filled by producers before any worker started has no group yet: the workers that
-- would drain it could not start. Redis checks maxmemory inside a script only before its
-- first write, so the script first writes with a no-op that takes no memory (PERSIST on the
-- stream, which never has a TTL); a group is a few hundred bytes.
--
-- KEYS[1] stream
-- ARGV[1] group
-- Returns: 1 = created, 0 = it existed.
redis.call('PERSIST', KEYS[1])
local ok, err = pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
if ok then return 1 end
if string.sub(tostring(err.err or err), 1, 9) == 'BUSYGROUP' then return 0 end
return redis.error_reply(tostring(err.err or err))
