-- Where each job is now (docs/internals.md, "Reading a job back"). Read only: it runs on a full Redis (and,
-- later, on a replica). The engine writes nothing at enqueue or start for most jobs, so the state is
-- read from where the job is: its outcome, else its record, else the pending list (started:
-- owner, deliveries), else the stream (queued), else the delayed set. All in one script, so a
-- job moving on meanwhile is never reported in a state it left; the caller
-- (lib/engine/status.ts) decides the status from what is returned.
-- Every read is under pcall: a key of the wrong type reads as absent, never fails the call.
-- (A command the ACL user lacks still fails it: see read.)
--
-- KEYS[1] stream  KEYS[2] delayed (zset)  KEYS[3] stream:high  KEYS[4] delayed:high
-- KEYS[5] stream:low  KEYS[6] delayed:low (a job whose record says `priority high|low` is looked
--   for in its level's stream and delayed set; lib/engine/keys.ts levelKeys)
-- ARGV[1] result key prefix  ARGV[2] record key prefix  ARGV[3] group  ARGV[4] progress key
--   prefix  ARGV[5] brief: a value's bytes at most, 0 for whole values (the dashboard's failures
--   list, lib/admin/queue-view.ts: a job's payload may be many MB, read every second): an
--   outcome longer than twice that is its first two lines, `null` for the payload, and its last
--   part from the value's last that many bytes (`…` first when that part is longer); the
--   record and the entry without their payload (`p`), each other value cut; no progress
--   ARGV[6..] job ids (an
--   auto id of a queue of several shards carries its shard's suffix, `<entry id>:<s>`: only ids
--   of this shard are sent, lib/engine/status.ts)
-- Returns per id { outcome or false, record (HGETALL, flat), pending [entry, owner, idle ms,
-- deliveries] or false, entry fields (flat) or false, due ms or false, Redis' TIME in ms when
-- there is a due ms (else false), progress (JSON) or false: read only for a job that is running
-- (pending), the one state it is shown in }: a due time is judged on Redis' clock (scheduled
-- while it is ahead), never the reader's. TIME is read once per call.
--- @include clock
--- @include ids
local function read(...)
  local ok, v = pcall(redis.call, ...)
  if ok then return v end
  -- A key of the wrong type, or a stream no worker has joined yet (NOGROUP), reads as absent;
  -- any other refusal (an ACL user lacking the command: NOPERM) is the caller's to report, not
  -- a job to call unknown.
  local text = type(v) == 'table' and v.err or tostring(v)
  if string.find(text, 'WRONGTYPE', 1, true) or string.find(text, 'NOGROUP', 1, true) then
    return false
  end
  error(v)
end

local brief = tonumber(ARGV[5]) or 0

-- A value cut to `brief` bytes (brief reads only).
local function cut(v)
  if #v > brief then return string.sub(v, 1, brief) end
  return v
end

-- The outcome value; brief: without its payload. The payload holds no raw newline (outcome.ts
-- oneLine), so the first newline of the value's tail ends it, unless the last part (result,
-- error, where a canceled job was) is longer than the tail: then the tail is shown, `…` first.
local function outcome_of(key)
  if brief == 0 then return read('GET', key) end
  local head = read('GETRANGE', key, 0, 2 * brief - 1)
  if not head then return nil end
  if head == '' then return read('GET', key) end -- missing (nil) or empty: GET tells which
  if #head < 2 * brief then return head end -- the whole value already
  local first = string.find(head, '\n', 1, true)
  local task_end = first and string.find(head, '\n', first + 1, true)
  if not task_end then return cut(head) end -- no task line in its head: read as corrupt
  local tail = redis.call('GETRANGE', key, -brief, -1)
  local at = string.find(tail, '\n', 1, true)
  local last = at and string.sub(tail, at + 1) or ('\226\128\166' .. tail)
  return string.sub(head, 1, task_end) .. 'null\n' .. last
end

-- Flat fields; brief: without the payload (`p`), each other value cut.
local function briefly(flat)
  if brief == 0 or not flat then return flat end
  local kept = {}
  for j = 1, #flat - 1, 2 do
    if flat[j] ~= 'p' then
      kept[#kept + 1] = flat[j]
      kept[#kept + 1] = cut(flat[j + 1])
    end
  end
  return kept
end

-- The record (HGETALL); brief: its field names first, then every value but the payload's.
local function record_of(key)
  if brief == 0 then return read('HGETALL', key) end
  local names = read('HKEYS', key)
  if not names then return false end
  local wanted = {}
  for _, name in ipairs(names) do
    if name ~= 'p' then wanted[#wanted + 1] = name end
  end
  if #wanted == 0 then return {} end
  local values = redis.call('HMGET', key, unpack(wanted))
  local flat = {}
  for j, name in ipairs(wanted) do
    if values[j] then
      flat[#flat + 1] = name
      flat[#flat + 1] = cut(values[j])
    end
  end
  return flat
end

local out, now = {}, nil
local AT = { high = { KEYS[3], KEYS[4] }, low = { KEYS[5], KEYS[6] } }
for i = 6, #ARGV do
  local id = ARGV[i]
  local outcome = outcome_of(ARGV[1] .. id)
  -- The record holds the history of earlier runs, for an ended job too.
  local record = record_of(ARGV[2] .. id) or {}
  if outcome then
    out[#out + 1] = { outcome, record, false, false, false, false }
  else
    local e, stream, delayed = nil, KEYS[1], KEYS[2]
    for j = 1, #record - 1, 2 do
      if record[j] == 'e' then e = record[j + 1] end
      if record[j] == 'priority' and AT[record[j + 1]] then
        stream, delayed = AT[record[j + 1]][1], AT[record[j + 1]][2]
      end
    end
    -- An auto id is its entry id, with the shard's suffix when the queue has several.
    local auto = string.match(id, '^(%d+%-%d+):%d+$') or id
    if not e and is_entry(auto) then e = auto end
    local pending, fields, progress = false, false, false
    if is_entry(e) then
      local p = read('XPENDING', stream, ARGV[3], e, e, 1)
      pending = p and p[1] or false
      if pending and brief == 0 then progress = read('GET', ARGV[4] .. id) or false end
      local r = read('XRANGE', stream, e, e)
      fields = briefly(r and r[1] and r[1][2]) or false
    end
    local due = read('ZSCORE', delayed, id) or false
    if due then now = now or clock_ms() end
    out[#out + 1] = { false, record, pending, fields, due, due and now or false, progress }
  end
end
return out
