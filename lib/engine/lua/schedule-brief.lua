-- Schedules' definitions without their payloads, for the lists that never show one (`info`,
-- /metrics, the dashboard's panel, read every second): a payload may be 1 MiB, and 20 of them
-- were read for each. A definition Courier wrote is JSON with its keys in one order (queue,
-- every_ms or cron and tz, task, payload, missed, paused, created_at: lib/schedule/schedules.ts),
-- so a long one is answered with its payload's text replaced by null: what is before the first
-- `"payload":` (no string holds that text unescaped, and no key before it is an object) and
-- what is from the last `,"missed":` on (the short tail; the payload's own keys come before it).
-- That tail must be exactly the one Courier writes (missed, paused, created_at, in that order,
-- then the end): a key between the payload and `,"missed":` (a hand edit, or JSON reordered:
-- `"paused":true` there) was dropped, and the schedule read as not paused. A head past ARGV[1]
-- bytes is none Courier writes either (a 5 MB task by hand was answered whole). A long one of
-- another form is answered cut to ARGV[1] bytes: its reader finds no definition.
--
-- KEYS[1] defs (hash name -> JSON)
-- ARGV[1] the longest definition answered whole (bytes)   ARGV[2..] names
-- Returns, per name, its definition (brief when long), or false when it has none.
local max = tonumber(ARGV[1])

-- The tail Courier writes after a payload, whole: its missed, paused and created_at, the end.
local function courier_tail(tail)
  local missed, paused = string.match(tail, '^,"missed":"(%a+)","paused":(%a+),"created_at":%d+}$')
  return (missed == 'once' or missed == 'skip') and (paused == 'true' or paused == 'false')
end

local out = {}
for i = 2, #ARGV do
  local def = redis.call('HGET', KEYS[1], ARGV[i])
  if def and #def > max then
    local head = string.find(def, '"payload":', 1, true)
    local tail = #def - 200
    if tail < 1 then tail = 1 end
    local last = nil
    local from = tail
    while true do
      local at = string.find(def, ',"missed":', from, true)
      if not at then break end
      last = at
      from = at + 1
    end
    if head and head <= max and last and last > head and courier_tail(string.sub(def, last)) then
      def = string.sub(def, 1, head - 1) .. '"payload":null' .. string.sub(def, last)
    else
      def = string.sub(def, 1, max)
    end
  end
  out[#out + 1] = def
end
return out
