-- Include (`--- @include minutes`): the per-minute counts of the finish, fail, bury and claim scripts (read by
-- `info` and /metrics). Not a script of its own.
--- @include counters

-- Adds n to `<minute>:<name>` in the per-minute hash. When a new minute starts, the fields that
-- fell out of the last `kept` minutes are deleted (remembered by `trimmed`), so the hash stays
-- small at an O(1) amortised cost. `seen`: the `trimmed` field as the caller read it already
-- (finish.lua reads it first, under pcall, as its type check of the hash), else nil. Returns
-- the field's value now, for a second count in the same script.
local function count_minute(key, now, kept, name, n, seen)
  local minute = math.floor(now / 60000)
  if seen == nil then seen = redis.call('HGET', key, 'trimmed') end
  local trimmed = tonumber(seen)
  if seen and not (trimmed and trimmed == math.floor(trimmed) and trimmed <= minute + kept) then
    -- A `trimmed` that is no minute (garbage, `nan`) or one far ahead of Redis' clock stopped the
    -- trimming for good, and the hash grew without bound (R-193): started again, as after
    -- `kept` minutes of nothing. (One a few minutes ahead, a clock stepped back, only pauses it.)
    redis.call('DEL', key)
    trimmed = nil
  elseif trimmed and minute - trimmed >= kept then
    redis.call('DEL', key) -- nothing counted for longer than we keep: all of it is too old
  elseif trimmed and minute > trimmed then
    local old = {}
    for m = trimmed - kept + 1, minute - kept do
      old[#old + 1] = m .. ':finished'; old[#old + 1] = m .. ':failed'
      old[#old + 1] = m .. ':retried'
    end
    if #old > 0 then redis.call('HDEL', key, unpack(old)) end
  end
  if not trimmed or minute > trimmed then
    redis.call('HSET', key, 'trimmed', minute)
    seen = tostring(minute)
  end
  add_count(key, minute .. ':' .. name, n) -- a corrupt field must not stop the script
  return seen
end
