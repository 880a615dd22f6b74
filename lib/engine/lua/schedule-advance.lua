-- A schedule's tick fired: its next tick stored, only if the stored score is still the one
-- this pass read (compare and set). Called after the tick's job was enqueued (its id names the
-- tick, so a second enqueue of it adds nothing): a scheduler that read the same tick, or one
-- that crashed between the two calls, can never move the schedule twice or skip a tick; a
-- schedule paused or removed meanwhile (no score) stays so. A back-off (`failing`) ends with it.
--
-- Or, with ARGV[4] (a back-off): the tick failed to fire (a corrupt definition, an enqueue that
-- failed); the schedule's score moves to ARGV[4], a retry time, and `failing` keeps its real tick
-- ARGV[5] and one more failure, so that it no longer stays at the front of the due ones,
-- before every other schedule.
--
-- KEYS[1] the queue's next (zset name -> next tick ms)  KEYS[2] queues (set)
-- KEYS[3] failing (hash name -> '<tick> <failures>')
-- ARGV[1] name  ARGV[2] the score read (ms)  ARGV[3] the next tick (ms; '' = none: it ends)
-- ARGV[4] '' or the retry time (ms) of a back-off  ARGV[5] the real tick  ARGV[6] the queue
-- Returns 1 when written, 0 when the stored score had changed (nothing written).
local name = ARGV[1]
local score = redis.call('ZSCORE', KEYS[1], name)
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[4] ~= '' then
  local failing = redis.call('HGET', KEYS[3], name)
  local failures = failing and tonumber(string.match(failing, ' (%d+)$')) or 0
  redis.call('ZADD', KEYS[1], ARGV[4], name)
  redis.call('HSET', KEYS[3], name, ARGV[5] .. ' ' .. (failures + 1))
  return 1
end
redis.call('HDEL', KEYS[3], name)
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], name)
  if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[6]) end
else
  redis.call('ZADD', KEYS[1], ARGV[3], name)
end
return 1
