-- Where a page of a sorted set read by place goes on (`--- @include place`: held-page.lua and
-- rate-held.lua, which walk limit:keys while it changes under them). The place is a member and
-- its score, not an index (an index would skip as many members as left before it): after that
-- member while it still has that score, else after every member scored below it (members of
-- that very score are read again).
local function after_place(set, at_key, at_score)
  if at_key == '' then return 0 end
  local score = redis.call('ZSCORE', set, at_key)
  if score and tonumber(score) == tonumber(at_score) then
    return redis.call('ZRANK', set, at_key) + 1
  end
  return redis.call('ZCOUNT', set, '-inf', '(' .. at_score)
end
