-- Include (`--- @include history`): a job's history of runs, written by the fail, claim,
-- release, leave and requeue scripts. Not a script of its own.
--
-- Runs that did not end the job (retried, abandoned, released) are fields of the job's record
-- (`job:<id>`), written when the run ends; the final run rides in the outcome value. The
-- fields h:<run>, h:<run>:e and h:<run>:x, their values and the numbering of runs are
-- described once, in docs/internals.md, "The history"; lib/engine/record.ts reads them back.
-- The last HISTORY_KEPT runs are kept.
--
--- @include clip
local HISTORY_KEPT = 20
-- The longest error kept, in bytes, cut before a character that would cross it (lib/errors.ts
-- clipError cuts a worker's errors the same way, so the job's error and the history's agree).
local HISTORY_ERROR_BYTES = 1000

-- The history's field names and values (lib/engine/record.ts parses them). A script builds the parts
-- that are the same for every job of its batch once: `opened` and `ended_as` below.
-- A whole number as text: `..` prints one from 1e14 up as `1e+14` (record.ts would not read it).
local function int(n) return type(n) == 'number' and string.format('%.0f', n) or n end
local function run_field(run) return 'h:' .. int(run) end
local function end_field(run) return 'h:' .. int(run) .. ':e' end
-- What follows the attempt number in h:<run>: " <start ms> <worker>".
local function opened(now, worker) return ' ' .. int(now) .. ' ' .. worker end
-- The value of h:<run>:e.
local function ended_as(now, outcome) return int(now) .. ' ' .. outcome end

-- Fields that end `run` (to append to an HSET): its end time and outcome, and the error.
local function end_fields(fields, run, now, outcome, err)
  if not run or run < 1 then return fields end
  fields[#fields + 1] = end_field(run); fields[#fields + 1] = ended_as(now, outcome)
  if err then
    fields[#fields + 1] = run_field(run) .. ':x'
    fields[#fields + 1] = clip_text(err, HISTORY_ERROR_BYTES)
  end
  return fields
end

-- Drops the run that fell out of the kept history when `run` starts.
local function forget_old_run(key, run)
  local old = run - HISTORY_KEPT
  if old < 1 then return end
  local h = run_field(old)
  redis.call('HDEL', key, h, h .. ':e', h .. ':x')
end
