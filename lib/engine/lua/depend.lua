-- Parents of one child, on the parents' shard (docs/internals.md, "Dependencies and batches").
-- 'check' (before the child is written): where each parent is, nothing written. 'add' (after
-- the child and its waits set are written): every parent gets the child in
-- `dependents:<parent>` and goes into the shard's `has-dependents`; one that has ended (or
-- whose outcome is gone since the check) also goes into `ended-parents` (NX), so that the
-- workers' drain tells the child even when its producer stops before doing it itself
-- (parent-ended.lua; a child told twice changes nothing). Atomic with every script that ends
-- a job (they check has-dependents in the same call as the outcome): a parent ending
-- meanwhile is either seen ended here, or sees its dependents there.
--
-- KEYS[1] has-dependents (set)  KEYS[2] stream (an auto id's entry: a job without a record)
-- KEYS[3] ended-parents (zset)
-- ARGV[1] mode: 'check' or 'add'  ARGV[2] result prefix  ARGV[3] record prefix
-- ARGV[4] dependents prefix  ARGV[5] child id  ARGV[6] the shard's id suffix ('' or `:<s>`)
-- ARGV[7..] parent ids of this shard
-- Returns one letter per parent: 'F' finished, 'X' failed, 'C' canceled, '?' ended but its
-- outcome unreadable (another type, or no outcome form), 'w' not ended (added in 'add' mode),
-- '' unknown (never enqueued here, or its outcome expired; '?' in 'add' mode: the check found
-- it, so it ended since).
--- @include ids
--- @include clock
local rprefix, jprefix, dprefix, child, suffix = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local ENDED = { F = 'F', X = 'X', C = 'C' }

local function exists(id)
  if redis.call('TYPE', jprefix .. id).ok ~= 'none' then return true end
  local entry = string.sub(id, 1, #id - #suffix)
  if string.sub(id, #id - #suffix + 1) ~= suffix or not is_entry(entry) then return false end
  local ok, e = pcall(redis.call, 'XRANGE', KEYS[2], entry, entry)
  return ok and e[1] ~= nil
end

local add = ARGV[1] == 'add'
local now = add and clock_ms()
local out = {}
for i = 7, #ARGV do
  local id = ARGV[i]
  local t = redis.call('TYPE', rprefix .. id).ok
  local mark = ''
  if t == 'string' then
    mark = ENDED[redis.call('GETRANGE', rprefix .. id, 0, 0)] or '?'
  elseif t ~= 'none' then
    mark = '?'
  elseif exists(id) then
    mark = 'w'
  elseif add then
    mark = '?'
  end
  if add then
    redis.call('SADD', dprefix .. id, child)
    redis.call('SADD', KEYS[1], id)
    if mark ~= 'w' then redis.call('ZADD', KEYS[3], 'NX', now, id) end
  end
  out[#out + 1] = mark
end
return out
