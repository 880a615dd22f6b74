-- Included by requeue.lua and discard.lua (lib/engine/lua.ts): the head of a failed
-- value r:<id>, as dead.lua's failed_value writes it and lib/engine/outcome.ts reads it:
-- X<end> <run ms|-> <attempt|-> <max|-> <enqueued|-> <letter|-> <worker JSON>\n<task JSON>\n…
-- Not a script of its own.

-- The head's parts, or nil when `v` is not a failed value (a finished one, or garbage).
local function failed_parts(v)
  local ended, run_ms, attempt, max, enqueued, letter, worker =
    string.match(v, '^X(%d+) (%S+) (%S+) (%S+) (%S+) (%S+) ([^\n]*)\n')
  if not ended then return nil end
  local ok, name = pcall(cjson.decode, worker)
  return { ended = ended, run_ms = tonumber(run_ms), attempt = attempt, max = max,
    enqueued = enqueued, letter = letter, worker = ok and type(name) == 'string' and name or '' }
end
