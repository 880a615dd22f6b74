-- A schedule's tick fired: its next tick stored, only if the stored one is still the tick this
-- pass read (compare and set). Called after the tick's job was enqueued (its id names the
-- tick, so a second enqueue of it adds nothing): a scheduler that read the same tick, or one
-- that crashed between the two calls, can never move the schedule twice or skip a tick; a
-- schedule paused or removed meanwhile (no score) stays so.
--
-- KEYS[1] next (zset name -> next tick ms)
-- ARGV[1] name  ARGV[2] the tick read (ms)  ARGV[3] the next tick (ms; '' = none: it ends)
-- Returns 1 when advanced, 0 when the stored tick had changed (nothing written).
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
