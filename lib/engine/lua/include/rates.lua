-- Include (`--- @include rates`): whether a limit key's rate still holds jobs back, for the
-- scripts that take a key off the held keys (limit.lua, limit-done.lua). Not a script of its own.

-- True when one of the key's rate sets (rate-held, rate-waking: their key prefixes in
-- `prefixes`) has a member due after `now`, or cannot be read (another type: the key stays
-- listed, as it would for a job held).
local function rate_holds_later(prefixes, key, now)
  for _, prefix in ipairs(prefixes) do
    local read, later = pcall(redis.call, 'ZRANGEBYSCORE', prefix .. key, '(' .. now, '+inf',
      'LIMIT', 0, 1)
    if not read or #later > 0 then return true end
  end
  return false
end
