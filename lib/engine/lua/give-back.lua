-- A prefetched entry given back unstarted (docs/internals.md, "2. Read"): a worker held it
-- while the job before it ran past prefetchWaitMs, so it goes back to the queue for an idle
-- worker. The entry, pending on this consumer, is acknowledged and deleted, and the job comes
-- back as a fresh entry at the stream's end with `a + deliveries - 1` and `n + deliveries - 1`:
-- this delivery never ran, so it SPENDS NO ATTEMPT and writes no run (as release.lua, leave.lua
-- and hold.lua). Its record (made for an auto id, keeping its enqueue time) says `queued` and
-- names the new entry. A job that has an outcome is only acknowledged. Order as release.lua: a
-- write that takes no memory, the re-adds, the acknowledgements and deletes last (a script
-- error half-way leaves the entries pending here, claimed later, never lost).
-- A call copies whole entries (payload included), so it stops once the entries it read reach
-- ARGV[7] bytes (the one that crosses it included): the entries after it get no verdict, are
-- left as they are, and the caller sends them again (100 of 256 KB made one call of 0.14 to
-- 0.21 s).
--
-- Only the start that holds the name gives back (as release.lua): when the worker's hash names
-- another start, what is pending on the name is that start's, and every entry is 'gone'.
--
-- KEYS[1] stream   KEYS[2] the worker's hash
-- ARGV[1] record prefix  ARGV[2] result prefix  ARGV[3] group  ARGV[4] consumer
-- ARGV[5] the shard's id suffix (an entry without `i`: its auto id is the entry id and this)
-- ARGV[6] this start's token ('' when none: then any hash's `start` is another's)
-- ARGV[7] most entry bytes read per call  ARGV[8..] entry ids
-- Returns per entry, in order, up to the one that reached the bytes: 'back' (re-added), 'done'
-- (had an outcome), 'gone' (not pending on this consumer, unreadable, or the name is another
-- start's: left alone; then one per entry given).
--- @include wrongtype
--- @include readd
local wrong = wrong_type({ KEYS[1], 'stream' })
if wrong then return wrong end
local jprefix, rprefix, group, me = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local out, acks = {}, {}
-- pcall: a hash of another type names no start (as release.lua).
local ok, holder = pcall(redis.call, 'HGET', KEYS[2], 'start')
if ok and holder and holder ~= ARGV[6] then
  for i = 8, #ARGV do out[#out + 1] = 'gone' end
  return out
end

local function back(id, f, attempts, runs)
  local key = waiting_record(KEYS[1], jprefix, id, f, attempts, runs)
  if not key then return 'back' end -- record unusable: re-added by waiting_record, as it is
  local e = readd(KEYS[1], id, f, attempts, runs)
  redis.call('HSET', key, 'status', 'queued', 'e', e, 'n', runs)
  return 'back'
end

redis.call('PERSIST', KEYS[1]) -- the write that takes no memory
local g = { stream = KEYS[1], group = group, me = me, acks = acks, rprefix = rprefix,
  bad = 'back', bytes = 0 }
local most_bytes = tonumber(ARGV[7])
for i = 8, #ARGV do
  if g.bytes >= most_bytes then break end
  local entry = ARGV[i]
  out[#out + 1] = give_back(g, entry, function(f) return f.i or entry .. ARGV[5] end, back)
end
ack_and_delete(KEYS[1], group, acks)
return out
