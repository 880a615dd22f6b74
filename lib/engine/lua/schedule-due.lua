-- Recurring schedules (docs/internals.md, "Recurring schedules"): the due ones, read only. What
-- one pass of a scheduler (a worker's schedule loop, `schedule.ts run`) fires, on Redis' clock:
-- every host compares a tick with the same time. A scheduler of some queues (a worker) asks
-- for theirs only, so another queue's due schedule never wakes it again and again.
-- A definition that is not JSON with a queue is passed over here when filtering (the standalone
-- scheduler, which asks for every queue, gets it and reports it); it never stalls the others.
--
-- KEYS[1] defs (hash name -> JSON)  KEYS[2] next (zset name -> next tick ms)
-- ARGV[1] most due schedules returned (of the first 1000 due)  ARGV[2..] the queues asked for (none: every queue)
-- Returns { now ms, { name, tick ms, definition JSON or false, ... } of due ones (tick <= now),
--   the earliest future tick of a schedule asked for, or '' when none in the first 100 }
--- @include clock
local now = clock_ms()
local wanted = nil
if #ARGV > 1 then
  wanted = {}
  for i = 2, #ARGV do wanted[ARGV[i]] = true end
end
local function asked(def)
  if wanted == nil then return true end
  if not def then return false end
  local ok, v = pcall(cjson.decode, def)
  return ok and type(v) == 'table' and wanted[v.queue] == true
end

local most = tonumber(ARGV[1])
local due = {}
local seen = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1000)
for i = 1, #seen, 2 do
  local def = redis.call('HGET', KEYS[1], seen[i])
  if asked(def) and #due < most * 3 then
    due[#due + 1] = seen[i]; due[#due + 1] = seen[i + 1]; due[#due + 1] = def
  end
end
local earliest = ''
local later = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 100)
for i = 1, #later, 2 do
  if asked(redis.call('HGET', KEYS[1], later[i])) then
    earliest = later[i + 1]
    break
  end
end
return { now, due, earliest }
