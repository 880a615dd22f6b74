-- Renew a worker's leases: reset the idle time of the given pending entries that this
-- consumer still owns (XCLAIM ... JUSTID does not bump the delivery count). Entries another
-- worker has claimed meanwhile are NOT taken back; they are returned as lost, so the worker
-- can stop running them.
--
-- KEYS[1] stream
-- ARGV[1] group   ARGV[2] consumer   ARGV[3..] entry ids
-- Returns: the entry ids this consumer no longer owns.
local group, consumer = ARGV[1], ARGV[2]
local owned, lost = {}, {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], group, ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == consumer then
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
