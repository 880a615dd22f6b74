-- Engine v2: delete dead letters for good (docs/internals.md, "Dead letters: requeue, discard"): the letter, and the job's
-- failed value r:<id> and record when they are about this letter (the failed value names its
-- letter); a job whose id lives on (requeued since, finished) keeps its value and record.
--
-- KEYS[1] dead (stream)
-- ARGV[1] result prefix  ARGV[2] record prefix
-- ARGV[3..] pairs: dead letter entry id, job id it must carry ('' = whichever it carries)
-- Returns: per pair {job id or '', 1 = deleted, 0 = no such letter (or one for another job)},
-- or {job id, 0, 'courier: key … holds a …, not a …'}: its failed value or record is a key of
-- another type (a hand edit, another program), not Courier's to delete: nothing of it deleted,
-- its letter kept; the other pairs go on.
--- @include readd
--- @include failed
local rprefix, jprefix = ARGV[1], ARGV[2]
local out = {}

-- The job's first key of another type than Courier writes, as a line; nil when both are ours.
local function unreadable(id)
  for _, k in ipairs({ { rprefix .. id, 'string' }, { jprefix .. id, 'hash' } }) do
    local t = redis.call('TYPE', k[1]).ok
    if t ~= 'none' and t ~= k[2] then
      return 'courier: key ' .. k[1] .. ' holds a ' .. t .. ', not a ' .. k[2]
    end
  end
  return nil
end

-- The job's failed value is about this letter, or it has none and its record says failed.
local function about(id, letter)
  local ok, v = pcall(redis.call, 'GET', rprefix .. id)
  if ok and v then
    local parts = failed_parts(v)
    return parts ~= nil and parts.letter == letter
  end
  local rok, status = pcall(redis.call, 'HGET', jprefix .. id, 'status')
  return rok and status == 'failed'
end

for i = 3, #ARGV, 2 do
  local entry, want = ARGV[i], ARGV[i + 1]
  local id = (entry_at(KEYS[1], entry) or {}).id
  local why = id and (want == '' or id == want) and unreadable(id)
  if not id or (want ~= '' and id ~= want) then
    out[#out + 1] = { want, 0 }
  elseif why then
    out[#out + 1] = { id, 0, why }
  else
    if about(id, entry) then redis.call('DEL', rprefix .. id, jprefix .. id) end
    redis.call('XDEL', KEYS[1], entry)
    out[#out + 1] = { id, 1 }
  end
end
return out
