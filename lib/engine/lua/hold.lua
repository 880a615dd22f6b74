-- A job held back by a rate limit gives its slot away (docs/internals.md, "Rate limits"): its
-- entry, pending on this consumer, is acknowledged and deleted, and the job waits in the
-- delayed set until `due`, its record holding the entry's fields with `a + deliveries - 1` and
-- `n + deliveries - 1`: the delivery did not run, so it SPENDS NO ATTEMPT and writes no run
-- (as release.lua and leave.lua). A due time already past (or a job woken meanwhile: a
-- `limit-woken:<id>` marker, wake.lua) re-adds it to the stream at once. A job that has an
-- outcome is only acknowledged. Order as release.lua: a write that takes no memory, the holds,
-- the acknowledgements and deletes last (a script error half-way leaves entries pending).
-- Nothing that one job's data decides may raise once the first write is made: an error then
-- would leave the jobs held before it both in the delayed set and pending here (read again,
-- then promoted: run twice). Its record of another type sends it back at once
-- (waiting_record), its `limit_holds` not an integer starts again from 1 (add_count), a due
-- time that is no finite number holds it a minute (due_of).
--
-- KEYS[1] stream  KEYS[2] delayed (zset; the view's level)
-- ARGV[1] record prefix  ARGV[2] result prefix  ARGV[3] group  ARGV[4] consumer
-- ARGV[5] the shard's id suffix  ARGV[6] woken-marker prefix
-- ARGV[7..] pairs: entry id, due ms (Redis' clock)
-- Returns per entry: 'held', 'back' (re-added now), 'done' (had an outcome), 'gone' (not
-- pending on this consumer: left alone).
--- @include wrongtype
--- @include clock
--- @include counters
--- @include readd
local wrong = wrong_type({ KEYS[1], 'stream', KEYS[2], 'zset' })
if wrong then return wrong end
local jprefix, rprefix, group, me = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now = clock_ms()
local out, acks = {}, {}

-- How long a job whose due time is unusable is held: it then asks the limiter again.
local UNUSABLE_DUE_MS = 60000

-- A due time as a number ZADD takes and promotion reaches: one that is no finite number (NaN:
-- the limiter's reply for a key whose hash holds `held_until 1e400`, a hand edit) would raise
-- at the ZADD, half-way; +inf would hold the job for good, and so would a finite time past any
-- a clock reaches (`held_until 9e30`: from 2^53 on, past an exact ms). Each is a minute from now.
local function due_of(v)
  local due = tonumber(v)
  if not due or due ~= due or due >= 2 ^ 53 then return now + UNUSABLE_DUE_MS end
  return due
end

local function hold(id, f, attempts, runs, due)
  local key = waiting_record(KEYS[1], jprefix, id, f, attempts, runs)
  if not key then return 'back' end -- record unusable: back at once, nothing else written
  add_count(key, 'limit_holds', 1)
  local woken = redis.call('DEL', ARGV[6] .. id) == 1
  if due <= now or woken then
    local e = readd(KEYS[1], id, f, attempts, runs)
    redis.call('HSET', key, 'status', 'queued', 'e', e, 'n', runs)
    return 'back'
  end
  redis.call('HSET', key, 'status', 'queued', unpack(record_fields(f, attempts, runs)))
  redis.call('ZADD', KEYS[2], due, id)
  return 'held'
end

redis.call('PERSIST', KEYS[1]) -- the write that takes no memory
local g = { stream = KEYS[1], group = group, me = me, acks = acks, rprefix = rprefix,
  bad = 'back' }
for i = 7, #ARGV, 2 do
  local entry, due = ARGV[i], due_of(ARGV[i + 1])
  out[#out + 1] = give_back(g, entry, function(f) return f.i or entry .. ARGV[5] end,
    function(id, f, attempts, runs) return hold(id, f, attempts, runs, due) end)
end
ack_and_delete(KEYS[1], group, acks)
return out
