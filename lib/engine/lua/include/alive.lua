-- Include (`--- @include alive`): a task's `alive_until:<task>` as the tasks hash holds it, read
-- by leave.lua (is a worker with the task live?) and serve.lua (is a later beat there already?).
-- Not a script of its own.

-- The longest window a worker sends (6 heartbeats of at most INTERVAL_LIMIT_MS): ALIVE_WINDOW_MOST_MS
-- in lib/config.ts (a test checks they agree).
local ALIVE_WINDOW_MOST_MS = 6000000000

-- The value as a time (Redis' ms) when a worker's beat could have written it, else nil: one
-- that is no number or lies past any beat (a hand edit: `inf`, `nan`, a year 3000) is no
-- worker's. Read as live, it made a task no worker has bounce its jobs through the delayed set
-- for ever instead of parking them, and kept every real beat from being written over it.
local function alive_until(v, now)
  local n = tonumber(v)
  if n and n <= now + ALIVE_WINDOW_MOST_MS then return n end
  return nil
end
