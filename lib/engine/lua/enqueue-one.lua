-- The common job in one small call (lib/engine/enqueue-plain.ts; docs/internals.md, "1. Enqueue"):
-- one job with no id, due now, at the normal level, from a producer that never sends a call
-- twice, to a queue enqueue.lua checked less than a second ago. No receipt, no type checks, no
-- layout check: enqueue.lua does those once a second and after any failure.
-- The events cursor first (read only), then the entry, the first write: a full Redis refuses
-- the call before it (Redis checks maxmemory before a script's first write), so the entry and
-- its count are both written or neither. NOMKSTREAM: a stream that is gone (Redis emptied or
-- restarted without its data) is not made again here; the producer sends the job by
-- enqueue.lua, which writes the queue's format again and checks its layout.
--
-- KEYS[1] stream  KEYS[2] stats  KEYS[3] events (read only)
-- ARGV the entry's fields and values, in enqueue.lua's order (t p a m [o] [k])
-- Returns { entry id or false (no stream: nothing written), cursor or false (the events key is
-- not a stream), 1 counted or 0 (stats holds another type, or its `enqueued` is no integer: the
-- job is in, uncounted; enqueue.lua, which the producer then sends by, mends or refuses it) }.
-- Or an error reply (the stream key of another type, a full Redis, a stream with no ids left,
-- an ACL): nothing written.
local ok, last = pcall(redis.call, 'XREVRANGE', KEYS[3], '+', '-', 'COUNT', '1')
local cursor = false
if ok then cursor = last[1] and last[1][1] or '0-0' end
local entry = redis.call('XADD', KEYS[1], 'NOMKSTREAM', '*', unpack(ARGV))
if not entry then return { false, cursor, 0 } end
local counted = pcall(redis.call, 'HINCRBY', KEYS[2], 'enqueued', '1')
return { entry, cursor, counted and 1 or 0 }
