-- PRIVATE COPY (h5-tmp) of the dead-letter helper (lib/engine/v2/lua/dead.lua is owned by the
-- happy-path work; the lead dedupes at merge). Included by fail.lua and claim.lua.
-- A dead letter keeps today's fields (lib/engine/letters.ts, lib/admin/letters.ts read them);
-- `record dropped` marks a letter written while Redis was full, with no failed value kept.
local DROPPED = { 'record', 'dropped' }
local COMPACT_ERROR_CHARS = 100

local function write_letter(dead, max_len, id, f, err, attempt, compact)
  if compact then err = string.sub(err, 1, COMPACT_ERROR_CHARS) end
  return redis.call('XADD', dead, 'MAXLEN', '~', max_len, '*', 'id', id, 'task', f.t or '',
    'error', err, 'attempts', attempt, 'payload', f.p or '', 'max_attempts', f.m or '',
    unpack(compact and DROPPED or {}))
end

-- The failed value of r:<id> (docs/engine-v2.md §2.8):
-- X<end> <run ms> <attempt> <max> <worker> <enqueued> <dead entry> <task>\n<payload>\n<error>
local function failed_value(end_ms, run_ms, attempt, worker, enqueued, letter, f, err)
  return 'X' .. end_ms .. ' ' .. run_ms .. ' ' .. attempt .. ' ' .. (f.m or '') .. ' ' .. worker
    .. ' ' .. enqueued .. ' ' .. letter .. ' ' .. (f.t or '') .. '\n' .. (f.p or '') .. '\n' .. err
end

-- The head of a failed value, or nil when `v` is not one (a finished value, or garbage):
-- {end ms, run ms, attempt, max, worker, enqueued ms, dead entry}.
local function failed_parts(v)
  local e, run_ms, attempt, max, worker, enqueued, letter =
    string.match(v, '^X(%d+) (%d+) (%d+) (%S*) (.-) (%d+) (%d+%-%d+) ')
  if e then return { e, run_ms, attempt, max, worker, enqueued, letter } end
end

-- The dead letter a failed value names, or nil.
local function letter_of(v)
  local parts = failed_parts(v)
  return parts and parts[7]
end
