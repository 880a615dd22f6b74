-- The canceled value of r:<id> (lib/engine/outcome.ts), made by cancel.lua and by empty.lua (a
-- removed job others wait for): C<end> <attempt> <max> <enqueued> <worker JSON>\n<task
-- JSON>\n<payload>\n<where it was>. A field that is not a whole number is written `-`.
local function canceled_value(now, f, attempt, enqueued, worker, from)
  local p = string.gsub(f.p or '', '[\r\n]', ' ')
  local function n(v) return (v and string.find(tostring(v), '^%d+$')) and tostring(v) or '-' end
  return 'C' .. string.format('%.0f', now) .. ' ' .. n(attempt) .. ' ' .. n(f.m) .. ' ' ..
    n(enqueued) .. ' ' .. cjson.encode(worker or '') .. '\n' .. cjson.encode(f.t or '') .. '\n' ..
    p .. '\n' .. from
end
