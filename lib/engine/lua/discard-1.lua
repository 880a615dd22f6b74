-- Delete dead letters for good: the letter, and the job's record when it is still the failed
-- job the letter is about (a record whose id was reused by a live job is kept).
--
-- KEYS[1] dead (stream)
-- ARGV[1] job key prefix
-- ARGV[2..] pairs: dead letter entry id, job id it must carry ('' = whichever it carries)
-- Returns: per pair {job id or '', 1 = deleted, 0 = no such letter (or one for another job)}.
local prefix = ARGV[1]
local out = {}
for i = 2, #ARGV, 2 do
  local entry, want = ARGV[i], ARGV[i + 1]
  local e = redis.call('XRANGE', KEYS[1], entry, entry)[1]
  local id = nil
  if e then
    for j = 1, #e[2] - 1, 2 do
      if e[2][j] == 'id' then id = e[2][j + 1] end
    end
  end
  if not id or (want ~= '' and id ~= want) then
    out[#out + 1] = { want, 0 }
  else
    redis.call('XDEL', KEYS[1], entry)
    if redis.call('HGET', prefix .. id, 'status') == 'failed' then
      redis.call('DEL', prefix .. id)
    end
    out[#out + 1] = { id, 1 }
  end
end
return out
