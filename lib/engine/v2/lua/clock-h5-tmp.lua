-- PRIVATE COPY (h5-tmp) of lib/engine/v2/lua/clock.lua (h-4), verbatim below this line; the lead dedupes at merge.
-- Shared (prepended by lib/engine/v2/scripts.ts): Redis' clock in ms. Every time two processes
-- compare comes from here, never from a host's clock (docs/engine-v2.md §2.16). Not a script.
local function clock_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
