-- Include (`--- @include memory`): how the scripts that settle jobs run on a full Redis. Not a
-- script of its own.

-- A full Redis (maxmemory reached, noeviction) refuses a command that may take memory, but
-- inside a script only before the script's first write (a script is never stopped half-way;
-- checked on Redis 7.0 by tests/redis-full.worker.test.ts). Scripts that must run while Redis
-- is full, so the queue can drain, write first with a command that takes no memory (fail calls
-- this; bury, leave and release write the same PERSIST themselves; finish writes its take, an
-- XREADGROUP, or XTRIM MINID 0, which refuse a stream key of another type too). PERSIST on the
-- stream is a no-op (it never has a TTL) that counts as that first write. What the script then
-- takes is bounded by the batch (a started job's few fields, an outcome), and finish and fail
-- free more at their end, when they acknowledge and trim their entries (ack_and_trim,
-- include/entries.lua: last, so that a script error half-way leaves every entry pending).
local function write_without_memory(stream) redis.call('PERSIST', stream) end
