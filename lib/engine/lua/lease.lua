-- Renew a worker's leases: reset the idle time of the given pending entries that this
-- consumer still owns (XCLAIM ... JUSTID does not bump the delivery count). Entries another
-- worker has claimed meanwhile are NOT taken back; they are returned as lost, so the worker
-- can stop running them.
-- An entry pending on no consumer at all, still in the stream, whose job has no outcome, was
-- taken from every consumer by hand (XGROUP DELCONSUMER of this worker's name): no one else
-- would ever read it (it is behind the group's last delivered id), so it is taken back
-- (XCLAIM … FORCE) and runs on here; given up, its job stayed "queued" for ever (R-193).
--
-- KEYS[1] stream
-- ARGV[1] group   ARGV[2] consumer   ARGV[3] result key prefix
-- ARGV[4] the shard's id suffix (keys.ts idSuffix: an auto id is its entry id and this)
-- ARGV[5..] entry ids
-- Returns: the entry ids this consumer no longer owns.
--- @include fields
local group, consumer = ARGV[1], ARGV[2]
local owned, lost = {}, {}

-- Whether an entry pending on no one is this worker's to keep running (see above).
local function orphaned(entry)
  local f = entry_at(KEYS[1], entry)
  if not f then return false end
  local id = f.i or entry .. ARGV[4]
  if redis.call('TYPE', ARGV[3] .. id).ok ~= 'none' then return false end
  return #redis.call('XCLAIM', KEYS[1], group, consumer, 0, entry, 'FORCE', 'JUSTID') > 0
end

for i = 5, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], group, ARGV[i], ARGV[i], 1)
  if (p[1] and p[1][2] == consumer) or (not p[1] and orphaned(ARGV[i])) then
    owned[#owned + 1] = ARGV[i]
  else
    lost[#lost + 1] = ARGV[i]
  end
end
if #owned > 0 then
  local args = { 'XCLAIM', KEYS[1], group, consumer, 0 }
  for _, id in ipairs(owned) do args[#args + 1] = id end
  args[#args + 1] = 'JUSTID'
  redis.call(unpack(args))
end
return lost
