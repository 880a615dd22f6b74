-- Include (`--- @include counters`): how every script adds to a counter (stats, per-minute
-- counts, durations, the tasks hash's parked counts). Not a script of its own.

-- Adds n to the integer field `field` of hash `key`. Counters are statistics: they must never
-- decide whether a script's writes are kept or its entries acknowledged, yet a HINCRBY on a
-- field that is not an integer (a hand edit, a bug elsewhere) raises an error, which would stop
-- the script after its writes and before its acknowledgements (a retry written and its entry
-- left pending: promotion then makes a second live copy). So the add runs under pcall, and a
-- field it refuses starts again from n: a gap in the statistics, never in a job. (The key's
-- type is checked per batch by wrong_type; this guards the field's value.)
local function add_count(key, field, n)
  -- The common count as text: Redis 6.2 and 7.0 write a Lua number given to redis.call with
  -- printf's %.17g, a cost a batch of one pays per counter (docs/performance.md, "Where a
  -- script's time goes").
  if n == 1 then n = '1' end
  if not pcall(redis.call, 'HINCRBY', key, field, n) then redis.call('HSET', key, field, n) end
end
