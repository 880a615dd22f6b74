-- The shard's ended parents, for the worker's drain (docs/internals.md, "Dependencies and
-- batches"; lib/worker/flows.ts). 'read': the oldest ones, each with its outcome's letter and
-- its dependents, nothing written. 'done': once every dependent was told (parent-ended.lua on
-- its shard), the parent leaves ended-parents and has-dependents, its dependents set deleted.
-- A worker that dies between the two leaves the parent in ended-parents: any worker tells the
-- dependents again, which changes nothing (parent-ended.lua is idempotent).
--
-- KEYS[1] ended-parents (zset)  KEYS[2] has-dependents (set)
-- ARGV[1] mode: 'read' or 'done'  ARGV[2] result prefix  ARGV[3] dependents prefix
-- read: ARGV[4] most parents  Returns { {id, letter, {child ids}}, … }: letter 'F' finished,
--   'X' failed, 'C' canceled, '?' no readable outcome (expired, or another type: a failure).
-- done: ARGV[4..] parent ids  Returns how many left ended-parents.
local rprefix, dprefix = ARGV[2], ARGV[3]
local ENDED = { F = 'F', X = 'X', C = 'C' }
if ARGV[1] == 'read' then
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
for i = 4, #ARGV do
  local id = ARGV[i]
  n = n + redis.call('ZREM', KEYS[1], id)
  redis.call('DEL', dprefix .. id)
  pcall(redis.call, 'SREM', KEYS[2], id)
end
return n
