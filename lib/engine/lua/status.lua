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
--   prefix  ARGV[5..] job ids (an
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

local out, now = {}, nil
local AT = { high = { KEYS[3], KEYS[4] }, low = { KEYS[5], KEYS[6] } }
for i = 5, #ARGV do
  local id = ARGV[i]
  local outcome = read('GET', ARGV[1] .. id)
  -- The record holds the history of earlier runs, for an ended job too.
  local record = read('HGETALL', ARGV[2] .. id) or {}
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
      if pending then progress = read('GET', ARGV[4] .. id) or false end
      local r = read('XRANGE', stream, e, e)
      fields = r and r[1] and r[1][2] or false
    end
    local due = read('ZSCORE', delayed, id) or false
    if due then now = now or clock_ms() end
    out[#out + 1] = { false, record, pending, fields, due, due and now or false, progress }
  end
end
return out
