-- Included (`--- @include dead`) by every script that ends a job failed
-- for good: bury.lua (entries that cannot run), and the claim (attempts used up) and fail
-- (last attempt, PermanentError) scripts. Dead-lettering is written once, here. Not a script.
-- The letter keeps v1's fields (lib/admin/letters.ts, `dead requeue` read them); the outcome
-- value is the one lib/engine/outcome.ts parses.
--- @include clip

-- A number for the outcome header, or '-' (a corrupt field must not add a space to it).
local function num_or_dash(v)
  if type(v) == 'number' then return string.format('%d', v) end
  if type(v) == 'string' and string.find(v, '^%d+$') then return v end
  return '-'
end

-- The failed value of r:<id>: X<end> <run ms> <attempt> <max> <enqueued> <letter> <worker JSON>
-- \n<task JSON>\n<payload>\n<error>. Worker and task as JSON strings (cjson: every Redis has
-- it), raw CR/LF of the payload made spaces (as outcome.ts oneLine: in valid JSON they are
-- whitespace between tokens, so the payload stays valid JSON): only the error, last, is free text.
local function failed_value(now, run_ms, attempt, max, enqueued, letter, worker, task, payload, err)
  local p = string.gsub(payload or '', '[\r\n]', ' ')
  return 'X' .. num_or_dash(now) .. ' ' .. num_or_dash(run_ms) .. ' ' .. num_or_dash(attempt) ..
    ' ' .. num_or_dash(max) .. ' ' .. num_or_dash(enqueued) .. ' ' .. (letter or '-') .. ' ' ..
    cjson.encode(worker or '') .. '\n' .. cjson.encode(task or '') .. '\n' .. p .. '\n' .. err
end

-- On a full Redis the newest this many letters are kept whatever they take (a job whose record
-- was dropped is read from them: LETTER_LOOKBACK in lib/engine/letters.ts, a test checks they
-- agree); past them, each compact letter drops the oldest (dead_letter below). At ~200 B a
-- letter, what this lets a full Redis take is bounded: some 200 kB per queue.
local LETTERS_KEPT_WHEN_FULL = 1000
-- Dead letters dropped by this script call to make room for compact ones; the script adds
-- them to the `dead_trimmed` counter once, at its end.
local letters_trimmed = 0

-- Writes the dead letter of job `id` whose fields (t p a m, whatever exists) are in `f`;
-- returns its entry id. `compact` (Redis full: no outcome is kept, see fail_for_good) cuts the
-- error and marks it `record dropped`, which lib/engine/letters.ts reads back as the job's failure.
-- A letter keeps the job's limit key (`k`), so a requeue brings the job back under its limits.
local function limit_key_field(f)
  if f.k and f.k ~= '' then return { 'limit_key', f.k } end
  return {}
end

local function dead_letter(dead, dead_max, id, f, err, compact)
  if compact then
    -- A letter outweighs the queued job it replaces (~200 B against ~95, docs/performance.md), so
    -- on a full Redis the oldest letter goes for each compact one (once LETTERS_KEPT_WHEN_FULL
    -- are kept): the letters keep their count, failing frees the job's stream entry, and a queue
    -- where every job fails drains (README, "Redis memory"; tests/redis-full.worker.test.ts).
    -- The oldest first: the newest are those a job that failed is read from. An exact trim
    -- only marks a stream node's entries deleted; the node is freed once all of them are.
    -- The error cut to 100 bytes of whole characters (v1's COMPACT_ERROR_CHARS) keeps the
    -- letter small.
    local kept = redis.call('XLEN', dead)
    local letter = redis.call('XADD', dead, 'MAXLEN', '~', dead_max, '*', 'id', id, 'task', f.t or '',
      'error', clip_text(err, 100), 'attempts', f.a or '', 'payload', f.p or '', 'max_attempts', f.m or '',
      'record', 'dropped', unpack(limit_key_field(f)))
    if kept >= LETTERS_KEPT_WHEN_FULL then
      letters_trimmed = letters_trimmed + redis.call('XTRIM', dead, 'MAXLEN', kept)
    end
    return letter
  end
  return redis.call('XADD', dead, 'MAXLEN', '~', dead_max, '*', 'id', id, 'task', f.t or '',
    'error', err, 'attempts', f.a or '', 'payload', f.p or '', 'max_attempts', f.m or '',
    unpack(limit_key_field(f)))
end

-- Records a failed outcome unless the job has one: 1 recorded, 0 it had one (first wins),
-- -2 r:<id> holds another type (SET NX answers nil then, not an error: checked on 7.0).
local function record_outcome(key, value, ttl)
  if redis.call('SET', key, value, 'NX', 'EX', ttl) then return 1 end
  if redis.call('TYPE', key).ok ~= 'string' then return -2 end
  return 0
end

-- Ends job `j.id` failed for good: the letter, then (unless Redis is full: j.ttl == 0) its
-- outcome with the failure TTL and the same TTL on its record; a full Redis keeps only the
-- letter and deletes the record, to free memory. j = { dead, dead_max, id, f (entry fields),
-- err, ttl, now, result_key, record_key (nil: no record), run_ms, attempt, worker, enqueued }.
-- Returns the letter id and record_outcome's code (1 when compact). Events and counters are
-- the caller's, once per batch.
local function fail_for_good(j)
  local compact = tonumber(j.ttl) == 0
  local letter = dead_letter(j.dead, j.dead_max, j.id, j.f, j.err, compact)
  if compact then
    if j.record_key then redis.call('DEL', j.record_key) end
    return letter, 1
  end
  local f = j.f
  local value = failed_value(j.now, j.run_ms, j.attempt, f.m, j.enqueued, letter, j.worker, f.t,
    f.p, j.err)
  local code = record_outcome(j.result_key, value, j.ttl)
  -- -2 (r:<id> of another type): the letter is the job's trace, the record goes with it.
  if code ~= 0 and j.record_key then redis.call('EXPIRE', j.record_key, j.ttl) end
  return letter, code
end
