-- Tell children on this shard that a parent ended (docs/internals.md, "Dependencies and
-- batches"): called by the worker draining a parent shard's ended-parents (lib/worker/flows.ts),
-- and by the producer for parents that had ended before the child was registered with them.
-- Per (child, parent): SREM waits:<child> parent; only the call that removed it goes on, so a
-- call repeated (a crash mid-drain, two workers draining) changes nothing. Then:
-- - the parent did not finish (failed, canceled, no readable outcome) and the child says
--   `on_parent_failure fail`: the child fails for good, with the error `parent <id> failed`
--   (or `canceled`): its failed outcome X… (no dead letter: it never ran), the record
--   `status failed` with the failure TTL, its waits set deleted, a `failed` event; the
--   child's own dependents learn it in turn (include/dependents.lua);
-- - else, when waits:<child> is now empty (the one SREM that empties it is one call): the child's
--   entry is added to its level's stream (include/readd.lua), the record `status queued` with
--   `e`. So a callback waiting for many children is released exactly once, however many
--   workers end its last parents at the same moment.
--
-- KEYS[1] stream  KEYS[2] stream:high  KEYS[3] stream:low  KEYS[4] children (zset)
-- KEYS[5] events  KEYS[6] stats  KEYS[7] minutes  KEYS[8] has-dependents  KEYS[9] ended-parents
-- KEYS[10] released (zset: a released child waits there until it ends, when ended.lua gives its
--   parents list the outcome's TTL; a failed child's list gets the failure TTL here)
-- KEYS[11] letting-go (zset: a failed child never reads its parents' outcomes: it lets go)
-- ARGV[1] result prefix  ARGV[2] record prefix  ARGV[3] waits prefix  ARGV[4] failure TTL (s)
-- ARGV[5] events max len  ARGV[6] minutes of per-minute counts kept  ARGV[7] parents prefix
-- ARGV[8..] triples: child id, parent id, the parent's letter (F finished, X failed,
--   C canceled, ? no readable outcome); or child id, '', R: a child whose producer stopped
--   before listing all its parents (lib/worker/orphans.ts) fails, whatever on_parent_failure
-- Returns { released, failed }.
--- @include wrongtype
--- @include counters
--- @include minutes
--- @include clock
--- @include dead
--- @include readd
--- @include dependents
local wrong = wrong_type({ KEYS[1], 'stream', KEYS[2], 'stream', KEYS[3], 'stream',
  KEYS[4], 'zset', KEYS[5], 'stream', KEYS[6], 'hash', KEYS[7], 'hash', KEYS[10], 'zset',
  KEYS[11], 'zset' })
if wrong then return wrong end
local rprefix, jprefix, wprefix, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local STREAMS = { high = KEYS[2], low = KEYS[3] }
local now = clock_ms()
local released, failed = 0, {}

local function fail_child(child, key, f, parent, letter)
  local err = 'parent ' .. parent .. (letter == 'C' and ' canceled' or ' failed')
  if letter == 'R' then
    err = 'never registered: its producer stopped before listing all its parents'
  end
  local value = failed_value(now, nil, nil, f.m, f.q, nil, '', f.t, f.p, err)
  if record_outcome(rprefix .. child, value, ttl) ~= 1 then return end
  redis.call('HSET', key, 'status', 'failed', 'error', err)
  redis.call('EXPIRE', key, ttl)
  redis.call('DEL', wprefix .. child)
  redis.call('EXPIRE', ARGV[7] .. child, ttl)
  redis.call('ZREM', KEYS[4], child)
  redis.call('ZADD', KEYS[11], now, child)
  failed[#failed + 1] = child
end

local function release(child, key, f)
  local entry = readd(STREAMS[f.priority or ''] or KEYS[1], child, f, f.a, f.n)
  redis.call('HSET', key, 'status', 'queued', 'e', entry)
  redis.call('ZREM', KEYS[4], child)
  redis.call('ZADD', KEYS[10], now, child)
  released = released + 1
end

for i = 8, #ARGV, 3 do
  local child, parent, letter = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local waits, key = wprefix .. child, jprefix .. child
  local ok, removed = true, 1
  if letter ~= 'R' then ok, removed = pcall(redis.call, 'SREM', waits, parent) end
  local okr, flat = false, nil
  if ok and removed == 1 then okr, flat = pcall(redis.call, 'HGETALL', key) end
  -- A child that is gone, or no longer waits (canceled), or whose keys are of another type
  -- (a hand edit), is left alone: nothing here may stop the others of the call.
  local f = okr and to_map(flat) or {}
  if f.status == 'waiting-for-parents' then
    if letter == 'R' or (letter ~= 'F' and f.on_parent_failure ~= 'run') then
      fail_child(child, key, f, parent, letter)
    elseif redis.call('SCARD', waits) == 0 then
      release(child, key, f)
    end
  end
end
if #failed > 0 then
  local keep = math.max(1, math.ceil(tonumber(ARGV[5]) / #failed))
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', keep, '*', 'type', 'failed', 'ids',
    table.concat(failed, ','))
  add_count(KEYS[6], 'failed', #failed)
  count_minute(KEYS[7], now, tonumber(ARGV[6]), 'failed', #failed)
  note_ended(KEYS[8], KEYS[9], failed, now)
end
return { released, #failed }
