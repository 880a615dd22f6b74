-- Parents of one child, on the parents' shard (docs/internals.md, "Dependencies and batches").
-- 'check' (before the child is written): where each parent is, nothing written. 'add' (after
-- the child and its waits set are written): every parent gets the child in
-- `dependents:<parent>` and goes into the shard's `has-dependents`; one that has ended (or
-- whose outcome is gone since the check) also goes into `ended-parents` (NX), so that the
-- workers' drain tells the child even when its producer stops before doing it itself
-- (parent-ended.lua; a child told twice changes nothing). Atomic with every script that ends
-- a job (they check has-dependents in the same call as the outcome): a parent ending
-- meanwhile is either seen ended here, or sees its dependents there. 'add' also puts the child
-- in `holds:<parent>`: the parent's outcome is kept (PERSIST here for a parent ended already,
-- by the drain's ended.lua 'read' for one that ends later) until every child holding it lets
-- go ('letgo', from the drain once the child ended, failed or was canceled waiting): the
-- last one gives the outcome its TTL back, counted from then.
--
-- KEYS[1] has-dependents (set)  KEYS[2] stream (an auto id's entry: a job without a record)
-- KEYS[3] ended-parents (zset)
-- ARGV[1] mode: 'check', 'add' or 'letgo'  ARGV[2] result prefix  ARGV[3] record prefix
-- ARGV[4] dependents prefix  ARGV[5] child id  ARGV[6] the shard's id suffix ('' or `:<s>`)
-- ARGV[7] holds prefix  ARGV[8] result TTL (s)  ARGV[9] failure TTL (s) (both 'letgo'); in
--   'add': ARGV[8] when the producer saw the child waiting (ms, child.lua 'touch'; '' = not
--   checked)  ARGV[9] how old that look may be (ms)
-- ARGV[10..] parent ids of this shard
-- 'letgo' returns how many outcomes got their TTL back. Else one letter per parent: 'F'
-- finished, 'X' failed, 'C' canceled, '?' ended but its outcome unreadable (another type, or
-- no outcome form), 'w' not ended, '' unknown (never enqueued here, or its outcome expired;
-- '?' in 'add' mode: the check found it, so it ended since). 'add' with a look older than
-- ARGV[9] writes nothing and returns { 'late' }: the orphan sweep may have taken the child
-- over since (it waits for a whole grace of silence after the look), registered it, and the
-- child may have run and let go of its parents; holding them again would keep their outcomes
-- for ever. The producer looks again (a child no longer waiting stops it) and sends again.
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

if ARGV[1] == 'letgo' then
  local n = 0
  for i = 10, #ARGV do
    local id = ARGV[i]
    local hkey, rkey = ARGV[7] .. id, rprefix .. id
    local ok = pcall(redis.call, 'SREM', hkey, child)
    if ok and redis.call('EXISTS', hkey) == 0 and redis.call('TYPE', rkey).ok == 'string'
      and redis.call('PTTL', rkey) == -1 then
      local failed = redis.call('GETRANGE', rkey, 0, 0) ~= 'F' and tonumber(ARGV[9]) > 0
      redis.call('EXPIRE', rkey, failed and ARGV[9] or ARGV[8])
      n = n + 1
    end
  end
  return n
end

local add = ARGV[1] == 'add'
local now = add and clock_ms()
if add and ARGV[8] ~= '' and now - tonumber(ARGV[8]) >= tonumber(ARGV[9]) then
  return { 'late' }
end
local out = {}
for i = 10, #ARGV do
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
    redis.call('SADD', ARGV[7] .. id, child)
    if mark ~= 'w' then redis.call('ZADD', KEYS[3], 'NX', now, id) end
    if t == 'string' then redis.call('PERSIST', rprefix .. id) end
  end
  out[#out + 1] = mark
end
return out
