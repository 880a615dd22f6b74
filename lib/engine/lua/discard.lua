-- Engine v2: delete dead letters for good (docs/internals.md, "Dead letters: requeue, discard"): the letter, and the job's
-- failed value r:<id> and record when they are about this letter (the failed value names its
-- letter); a job whose id lives on (requeued since, finished) keeps its value and record.
--
-- KEYS[1] dead (stream)
-- ARGV[1] result prefix  ARGV[2] record prefix
-- ARGV[3..] pairs: dead letter entry id, job id it must carry ('' = whichever it carries)
-- Returns: per pair {job id or '', 1 = deleted, 0 = no such letter (or one for another job)}.
--- @include readd
--- @include failed
local rprefix, jprefix = ARGV[1], ARGV[2]
local out = {}

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
  if not id or (want ~= '' and id ~= want) then
    out[#out + 1] = { want, 0 }
  else
    if about(id, entry) then redis.call('DEL', rprefix .. id, jprefix .. id) end
    redis.call('XDEL', KEYS[1], entry)
    out[#out + 1] = { id, 1 }
  end
end
return out
