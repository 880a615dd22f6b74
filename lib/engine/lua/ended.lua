-- The shard's ended parents, for the worker's drain (docs/internals.md, "Dependencies and
-- batches"; lib/worker/flows.ts). 'read': the oldest ones, each with its outcome's letter and
-- its dependents (nothing written for them). 'done': once every dependent was told
-- (parent-ended.lua on its shard), the parent leaves ended-parents and has-dependents, its
-- dependents set deleted.
-- A worker that dies between the two leaves the parent in ended-parents: any worker tells the
-- dependents again, which changes nothing (parent-ended.lua is idempotent). A child added to
-- an ended parent between the two (depend.lua 'add') leaves the set larger than the drain read
-- it: 'done' then leaves the parent where it is, and the next drain tells them all again.
--
-- 'read' also sweeps `released` (children released to their stream): a child that has ended
-- (its outcome r:<child> is there) gives its parents list the outcome's time to live, so the
-- list goes with the outcome (ctx.parents() reads it while the child runs), and leaves the set.
--
-- KEYS[1] ended-parents (zset)  KEYS[2] has-dependents (set)  KEYS[3] released (zset)
-- ARGV[1] mode: 'read' or 'done'  ARGV[2] result prefix  ARGV[3] dependents prefix
-- read: ARGV[4] most parents (and released children looked at)  ARGV[5] parents prefix
--   ARGV[6] record prefix (a released child with neither outcome nor record was removed)
--   Returns { {id, letter, {child ids}}, … }: letter 'F' finished, 'X' failed, 'C' canceled,
--   '?' no readable outcome (expired, or another type: a failure).
-- done: ARGV[4..] pairs: parent id, how many dependents the drain read  Returns how many left
--   ended-parents.
local rprefix, dprefix = ARGV[2], ARGV[3]
local ENDED = { F = 'F', X = 'X', C = 'C' }
-- The oldest released children that have ended: their parents list expires with the outcome.
local function sweep()
  local ok, ids = pcall(redis.call, 'ZRANGE', KEYS[3], 0, tonumber(ARGV[4]) - 1)
  if not ok then return end
  for _, id in ipairs(ids) do
    if redis.call('TYPE', rprefix .. id).ok == 'string' then
      local ttl = redis.call('PTTL', rprefix .. id)
      if ttl > 0 then redis.call('PEXPIRE', ARGV[5] .. id, ttl)
      else redis.call('DEL', ARGV[5] .. id) end
      redis.call('ZREM', KEYS[3], id)
    elseif redis.call('EXISTS', ARGV[6] .. id) == 0 then
      -- No outcome and no record: removed (`queue empty`), it will never end.
      redis.call('DEL', ARGV[5] .. id)
      redis.call('ZREM', KEYS[3], id)
    end
  end
end

if ARGV[1] == 'read' then
  sweep()
  local ok, ids = pcall(redis.call, 'ZRANGE', KEYS[1], 0, tonumber(ARGV[4]) - 1)
  if not ok then return {} end
  local out = {}
  for _, id in ipairs(ids) do
    local letter = '?'
    if redis.call('TYPE', rprefix .. id).ok == 'string' then
      letter = ENDED[redis.call('GETRANGE', rprefix .. id, 0, 0)] or '?'
    end
    -- A dependents key of another type (a hand edit) has no child to tell: the parent is done.
    local okd, children = pcall(redis.call, 'SMEMBERS', dprefix .. id)
    out[#out + 1] = { id, letter, okd and children or {} }
  end
  return out
end
local n = 0
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  local ok, now = pcall(redis.call, 'SCARD', dprefix .. id)
  if not ok or now <= tonumber(ARGV[i + 1]) then
    n = n + redis.call('ZREM', KEYS[1], id)
    redis.call('DEL', dprefix .. id)
    pcall(redis.call, 'SREM', KEYS[2], id)
  end
end
return n
