-- The shard's ended parents, for the worker's drain (docs/internals.md, "Dependencies and
-- batches"; lib/worker/flows.ts). 'read': the oldest ones, each with its outcome's letter and
-- a page of its dependents (nothing written for them): at most ARGV[8] children in all per
-- call, however many a parent has (a parent of 200,000 children is read in pages, never in one
-- reply that Redis and the worker hold whole; one parent takes at most half the page while
-- others wait, and a member that names no child, which `done` could never remove, leaves the
-- set at the read, uncounted). 'done': the children the drain told
-- (parent-ended.lua on their shards) leave the parent's dependents set; once the set is empty
-- the parent leaves ended-parents and has-dependents. A parent with children left stays, and
-- the next read gives the next page (SRANDMEMBER: any members not told yet, no cursor to keep).
-- A worker that dies between the two leaves the children in the set: any worker tells them
-- again, which changes nothing (parent-ended.lua is idempotent). A child added to an ended
-- parent between the two (depend.lua 'add') was not told, so it stays in the set: the parent
-- stays, and the next drain tells it.
--
-- 'read' also sweeps `released` (children released to their stream, the least recently looked
-- at first): a child that has ended
-- (its outcome r:<child> is there) gives its parents list the outcome's time to live, so the
-- list goes with the outcome (ctx.parents() reads it while the child runs), leaves the set and
-- goes into `letting-go`: its parents need not keep their outcomes for it any more.
-- A parent read that children still hold (`holds:<parent>`) has its outcome kept (PERSIST)
-- until the last of them lets go (depend.lua 'letgo' gives the TTL back).
--
-- KEYS[1] ended-parents (zset)  KEYS[2] has-dependents (set)  KEYS[3] released (zset)
-- KEYS[4] letting-go (zset)
-- ARGV[1] mode: 'read', 'done' or 'let'  ARGV[2] result prefix  ARGV[3] dependents prefix
-- read: ARGV[4] most parents (and released children looked at)  ARGV[5] parents prefix
--   ARGV[6] record prefix (a released child with neither outcome nor record was removed)
--   ARGV[7] holds prefix  ARGV[8] most children in all (the page)
--   Returns { { {id, letter, {child ids}}, … }, {children letting go (the oldest)}, more,
--   full } (more: 1 when the sweep of `released` may have more ended children to find; full:
--   1 when a parent read got all it asked for, or the page filled up: it, or one after it,
--   may have more):
--   letter 'F' finished, 'X' failed, 'C' canceled, '?' no readable outcome (expired, or
--   another type: a failure).
-- done: ARGV[4..] per parent: its id, n, then the n children the drain told  Returns how
--   many left ended-parents.
-- let: ARGV[4..] children whose parents let go of them: out of letting-go. Returns 1.
--- @include clock
--- @include readd
local rprefix, dprefix = ARGV[2], ARGV[3]
local ENDED = { F = 'F', X = 'X', C = 'C' }
-- The parents list goes with the child's outcome; an outcome kept with no TTL (the child is a
-- parent others hold) or gone gives the list LETGO_MS, time for the drain to let go of the
-- parents it lists (it does at once, in the drain that swept it).
local LETGO_MS = 3600000
-- A released child still running goes to the back (its score: just after this look), so
-- children that run long never hide the newer ones; SWEEP_MOST bounds the lookups of one call
-- (the set is gone through in turns; one looked at in this ms is not looked at again in it).
-- Returns 1 when the call looked at SWEEP_MOST and found one ended: the drain calls again
-- (lib/worker/flows.ts, within its budget), so the sweep keeps up with children that end fast.
local SWEEP_MOST = 100
local function sweep()
  local now = clock_ms()
  local ok, ids = pcall(redis.call, 'ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0,
    SWEEP_MOST)
  if not ok then return 0 end
  local moved = 0
  for _, id in ipairs(ids) do
    local gone = redis.call('TYPE', rprefix .. id).ok ~= 'string'
    -- No outcome and no record: removed (`queue empty`), it will never end.
    if not gone or redis.call('EXISTS', ARGV[6] .. id) == 0 then
      local ttl = gone and -2 or redis.call('PTTL', rprefix .. id)
      redis.call('PEXPIRE', ARGV[5] .. id, ttl > 0 and ttl or LETGO_MS)
      redis.call('ZREM', KEYS[3], id)
      pcall(redis.call, 'ZADD', KEYS[4], now, id)
      moved = moved + 1
    else
      redis.call('ZADD', KEYS[3], 'XX', now + 1, id)
    end
  end
  return (#ids == SWEEP_MOST and moved > 0) and 1 or 0
end

-- A parent with no outcome whose record says it is alive again (`dead requeue` took it back
-- before this drain): it has not ended. It only leaves ended-parents; its dependents stay, for
-- its next end to note.
local ALIVE = { queued = true, retrying = true, started = true }
local function requeued(id)
  local key = ARGV[6] .. id
  if redis.call('TYPE', key).ok ~= 'hash' then return false end
  return ALIVE[redis.call('HGET', key, 'status') or ''] == true
end

-- A page of parent `id`'s dependents, at most `ask` (SRANDMEMBER with a count: distinct members,
-- whatever the set's size); `full` when it may have more. A member that names no child (a
-- hand edit: bytes the reply cannot carry as text, which `done` could never remove) leaves
-- the set here and takes no room in the page. A dependents key of another type (a hand edit)
-- has no child to tell: the parent is done.
local function page_of(id, ask)
  local key = dprefix .. id
  local ok, got = pcall(redis.call, 'SRANDMEMBER', key, ask)
  if not ok then return {}, false end
  local children = {}
  for _, c in ipairs(got) do
    if valid_id(c) then children[#children + 1] = c else redis.call('SREM', key, c) end
  end
  return children, #got == ask
end

-- A parent's outcome letter, its outcome kept (PERSIST) while children hold it; nil for one
-- requeued (it leaves the set). Before any page is handed out, so a parent the page has no
-- room for this time still has its outcome kept until it is read.
local function letter_of(id)
  if redis.call('TYPE', rprefix .. id).ok == 'string' then
    if redis.call('EXISTS', ARGV[7] .. id) == 1 then redis.call('PERSIST', rprefix .. id) end
    return ENDED[redis.call('GETRANGE', rprefix .. id, 0, 0)] or '?'
  end
  if not requeued(id) then return '?' end
  redis.call('ZREM', KEYS[1], id)
  return nil
end

-- One parent takes at most half the page while others wait behind it, and one whose page came
-- back full goes to the back of the set (its score: just after the last one's and now), so big
-- parents at the head take turns with the ones behind them and never hold them back for the
-- many drains they take.
local function read()
  local ok, ids = pcall(redis.call, 'ZRANGE', KEYS[1], 0, tonumber(ARGV[4]) - 1)
  if not ok then return {}, 0 end
  local letters = {}
  for i, id in ipairs(ids) do letters[i] = letter_of(id) end
  local page = tonumber(ARGV[8])
  local out, left, full = {}, page, 0
  -- The back: after the last parent (one that ended in this very ms too).
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  local back = math.max(clock_ms(), tonumber(last[2]) or 0) + 1
  for i, id in ipairs(ids) do
    -- The page is full: the parents after this one wait for the next read.
    if left <= 0 then return out, 1 end
    if letters[i] then
      local ask = i < #ids and math.min(left, math.max(1, math.ceil(page / 2))) or left
      local children, more = page_of(id, ask)
      if more then
        full = 1
        redis.call('ZADD', KEYS[1], 'XX', back, id)
      end
      left = left - #children
      out[#out + 1] = { id, letters[i], children }
    end
  end
  return out, full
end

if ARGV[1] == 'read' then
  local more = sweep()
  local okl, letting = pcall(redis.call, 'ZRANGE', KEYS[4], 0, tonumber(ARGV[4]) - 1)
  local parents, full = read()
  return { parents, okl and letting or {}, more, full }
end
if ARGV[1] == 'let' then
  for i = 4, #ARGV do pcall(redis.call, 'ZREM', KEYS[4], ARGV[i]) end
  return 1
end
local n, i = 0, 4
while i <= #ARGV do
  local id, told = ARGV[i], tonumber(ARGV[i + 1])
  local key = dprefix .. id
  -- pcall: a dependents key of another type (a hand edit) has no child left to tell.
  for at = i + 2, i + 1 + told, 1000 do
    pcall(redis.call, 'SREM', key, unpack(ARGV, at, math.min(at + 999, i + 1 + told)))
  end
  local ok, left = pcall(redis.call, 'SCARD', key)
  if not ok or left == 0 then
    n = n + redis.call('ZREM', KEYS[1], id)
    redis.call('DEL', key)
    pcall(redis.call, 'SREM', KEYS[2], id)
  end
  i = i + 2 + told
end
return n
