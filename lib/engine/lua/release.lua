-- Engine v2: release what a stopping worker holds (docs/internals.md, "8. Shutdown"), so other workers
-- get it at once instead of after the lease: each entry pending on this consumer is
-- acknowledged, deleted and re-added from its own fields with `a + deliveries - 1` (the
-- unfinished run is not counted: the job did not fail, its worker was asked to stop), and the
-- run goes into the record as `released`. A job that has an outcome already (r:<id>) is not
-- re-added. An entry whose `i` names no job (empty, too long, a character ids may not have) is
-- handed back as it is, no key built from its `i`. Order: a write that takes no memory first
-- (PERSIST on the stream: a full Redis still releases), the re-adds, and the acknowledgements
-- and deletes last, so that a script error half-way leaves the entries pending (claimed
-- later), never acknowledged and lost.
-- Leaves the group (XGROUP DELCONSUMER) once nothing is pending on the consumer.
-- A call copies whole entries (payload included), so it stops at ARGV[5] entries or once the
-- entries it read reach ARGV[9] bytes (the one that crosses it included): 500 of 256 KB made
-- one call of 0.4 to 1.0 s, Redis blocked throughout. Entries past the cut stay pending here,
-- untouched, for the next call.
-- Only the start that holds the name releases (docs/internals.md, "A name taken over"): when the
-- worker's hash names another start (`start`, name.lua), a later start took the name while this
-- process stalled, and what is pending on the name, the hash and the place in `workers` are that
-- start's: nothing is written. A hash that is gone (expired, no one took the name) is no other
-- start's: no start can read under the name without first holding its hash, so what is pending
-- on it was read by this start, or by a later one silent past its own TTL, whose entries any
-- claim may take anyway; this start releases them (sooner than the claim).
--
-- KEYS[1] stream   KEYS[2] the worker's hash   KEYS[3] workers (zset)
-- ARGV[1] record prefix  ARGV[2] result prefix  ARGV[3] group  ARGV[4] consumer
-- ARGV[5] most entries per call
-- ARGV[6] the shard's id suffix (keys.ts idSuffix: '' for one shard, `:<s>` of N > 1): an
--   entry without `i` is the job whose auto id is the entry id and the suffix
-- ARGV[7] this start's token ('' when none: then any hash's `start` is another's)
-- ARGV[8] '1': the worker leaves too, on the call that handles the last entries (ZREM from
--   workers, DEL its hash); '' for a level's view (the shard's normal view leaves)
-- ARGV[9] most entry bytes read per call
-- Returns: {jobs released, 1 when there may be more (the call stopped at a bound) else 0}: the
-- caller calls again while 1. {0, 0, 'taken'} when another start holds the name.
--- @include history
--- @include clock
--- @include readd
local jprefix, rprefix, group, me = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
-- pcall: a hash of another type names no start (the release goes on, as claim.lua's own read).
local ok, holder = pcall(redis.call, 'HGET', KEYS[2], 'start')
if ok and holder and holder ~= ARGV[7] then return { 0, 0, 'taken' } end
local now = clock_ms()
local pending = redis.call('XPENDING', KEYS[1], group, '-', '+', ARGV[5], me)
local released = 0

local function release(entry, f, deliveries)
  local id = f.i or entry .. ARGV[6]
  local attempts = unrun_attempts(f, deliveries) -- include/readd.lua owns the formula
  local a = count(f.a)
  local runs = (count(f.n) or 0) + deliveries
  -- An `i` that names no job (valid_id): no key is built from it; the entry comes back as it
  -- is, and the worker that reads it buries it (`corrupt record: job id is not valid`).
  if not valid_id(id) then
    readd(KEYS[1], id, f, attempts, f.n)
    return 1
  end
  -- Ended: nothing to run again. TYPE, not EXISTS: r:<id> of another type is no outcome (the
  -- job is re-added; its finish or failure dead-letters it as corrupt).
  if redis.call('TYPE', rprefix .. id).ok == 'string' then return 0 end
  local e = readd(KEYS[1], id, f, attempts, runs)
  local key = jprefix .. id
  -- Under pcall: a record that is not a hash does not stop the release (the job is re-added).
  local ok = pcall(redis.call, 'HSET', key, 'status', 'queued', 'e', e, 'n', runs,
    run_field(runs), int((a or 0) + deliveries) .. '  ' .. me, end_field(runs),
    ended_as(now, 'released'))
  if ok then
    redis.call('PERSIST', key) -- the job lives on: no TTL (a claim gives the record it makes one)
    keep_enqueued(key, id)
    forget_old_run(key, runs)
  end
  return 1
end

redis.call('PERSIST', KEYS[1]) -- the write that takes no memory (see above)
local most_bytes, bytes, entries = tonumber(ARGV[9]), 0, {}
local more = #pending >= tonumber(ARGV[5])
for _, p in ipairs(pending) do
  if bytes >= most_bytes then
    more = true
    break
  end
  local f, weight = entry_at(KEYS[1], p[1], true)
  if f then
    bytes = bytes + weight
    released = released + release(p[1], f, p[4])
  end
  entries[#entries + 1] = p[1]
end
ack_and_delete(KEYS[1], group, entries)
-- Leave the group only with nothing pending: deleting a consumer drops its pending entries,
-- and no one could claim them. (Stopped at a bound: the caller calls again.)
if not more then
  local left = redis.call('XPENDING', KEYS[1], group, '-', '+', 1, me)
  if #left == 0 then redis.call('XGROUP', 'DELCONSUMER', KEYS[1], group, me) end
  if ARGV[8] == '1' then
    -- pcall: a workers key of another type must not turn the reply into an error that hides
    -- what was released (the writes above are done).
    pcall(redis.call, 'ZREM', KEYS[3], me)
    redis.call('DEL', KEYS[2])
  end
end
return { released, more and 1 or 0 }
