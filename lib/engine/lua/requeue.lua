-- Engine v2: requeue dead letters (docs/internals.md, "Dead letters: requeue, discard"): each job runs again with a fresh
-- attempt count, atomically, so a job is never both dead and queued. Its letter and failed
-- value r:<id> are deleted, its record says `queued`, `a 0`, no hold counts (`task_holds`,
-- `limit_holds`), without TTL, its history kept
-- plus the run that failed for good (from the failed value; from the letter when the value
-- expired too), and a fresh entry `t p a 0 m i n` goes to the stream (the normal level's: a
-- high or low job's record loses its `priority`). A letter whose job is
-- alive (finished, or a record queued, retrying or started: its id was reused) is left alone.
-- On a full Redis a call that would make a record from a letter is refused whole (its first
-- write is one Redis checks); one that finds its records writes first with XDEL, which takes
-- no memory, and goes through (the letter and value it frees pay for the entry).
--
-- KEYS[1] dead (stream)  KEYS[2] stream  KEYS[3] stats
-- KEYS[4] stream:high  KEYS[5] stream:low (the shard's level streams: read only, for the id of a
--   high or low job's fresh entry; they need not exist)
-- ARGV[1] result prefix  ARGV[2] record prefix  ARGV[3] max attempts for letters without one
-- ARGV[4..] pairs: dead letter entry id, job id it must carry ('' = whichever it carries)
-- Returns: per pair {job id or '', verdict}: 'requeued', 'missing' (no such letter, or one for
-- another job), 'active' (the job is not failed, or an earlier letter of the same job in this
-- call requeues it: one job, one entry; the later letter is kept), or {job id, 'unreadable',
-- 'courier: key … holds a …, not a …'} (its record or failed value is a key of another type:
-- nothing of it written, its letter kept; the other pairs go on), or {job id, 'unreadable',
-- 'courier: dead letter … names no job: …'} (its id is not one a job may have: likewise). Or an error reply
-- `ERR courier: key … holds a …` (a queue-wide key: nothing written).
--- @include wrongtype
--- @include counters
--- @include history
--- @include clock
--- @include readd
--- @include failed
--- @include ids
local wrong = wrong_type({ KEYS[1], 'stream', KEYS[2], 'stream', KEYS[3], 'hash' })
if wrong then return wrong end
local rprefix, jprefix = ARGV[1], ARGV[2]
local now = clock_ms()
local out, jobs, requeued, creates, seen = {}, {}, 0, false, {}
local ALIVE = { queued = true, retrying = true, started = true }

-- Why a job's own key cannot be read: it holds another type (a hand edit, another program).
-- Its job is neither known alive nor known dead, so it is said on its own, never `active`.
local function unreadable(key, want)
  return 'courier: key ' .. key .. ' holds a ' .. redis.call('TYPE', key).ok .. ', not a ' .. want
end

-- Reads first: each pair's letter, failed value and record, and the verdict.
for i = 4, #ARGV, 2 do
  local found = entry_at(KEYS[1], ARGV[i])
  local j = { entry = ARGV[i], want = ARGV[i + 1], letter = found or {} }
  j.id = j.letter.id
  if found and not j.id and j.want == '' then
    -- A letter with no id field at all (written by hand), met by `requeue --all`: said and
    -- kept, counted as left (RR2: it was answered missing, and no count said it stayed).
    j.id, j.verdict = '', 'unreadable'
    j.reason = 'courier: dead letter ' .. j.entry .. ' names no job: it has no id'
  elseif not j.id or (j.want ~= '' and j.id ~= j.want) then
    j.verdict = 'missing'
  elseif not valid_id(j.id) then
    -- A letter written by hand whose id no job may have (`../x`, a space, 200 characters): no
    -- key is built from it, nor an entry (R-190 made `job:../x` and an entry of it); kept.
    j.verdict = 'unreadable'
    j.reason = 'courier: dead letter ' .. j.entry .. ' names no job: its id is not one Courier takes'
  else
    local vok, v = pcall(redis.call, 'GET', rprefix .. j.id)
    local rok, flat = pcall(redis.call, 'HGETALL', jprefix .. j.id)
    j.value, j.record = vok and v or nil, rok and to_map(flat) or nil
    -- Alive: an outcome that is not a failure, a record saying so, or, with no outcome, a
    -- caller id's marker (`e`, no status): the id came back as a new job since the letter.
    local marker = not v and j.record and j.record.e and not j.record.status
    if not vok or not rok then
      j.verdict = 'unreadable'
      j.reason = vok and unreadable(jprefix .. j.id, 'hash')
        or unreadable(rprefix .. j.id, 'string')
    elseif (v and string.sub(v, 1, 1) ~= 'X') or ALIVE[j.record.status or ''] or marker then
      j.verdict = 'active'
    elseif seen[j.id] then
      -- Another letter of this job earlier in the call requeues it: the job is queued now, so
      -- this one says 'active' (as it would in a later call) and stays where it is.
      j.verdict = 'active'
    elseif not j.record.status and not j.record.e then
      creates = true
    end
    if not j.verdict then seen[j.id] = true end
  end
  jobs[#jobs + 1] = j
end

-- The run that failed for good, as the record's next history run.
local function last_run(j, runs)
  local fields, parts = {}, j.value and failed_parts(j.value)
  if parts then
    -- A run of unknown length (a buried entry) has no start. int(), not '%d' (wrong past 2^63).
    local start = parts.run_ms and int(parts.ended - parts.run_ms) or ''
    fields = { run_field(runs), parts.attempt .. ' ' .. start .. ' ' .. parts.worker }
    return end_fields(fields, runs, parts.ended, 'failed', j.letter.error or '')
  end
  fields = { run_field(runs), (j.letter.attempts or '') .. '  ' }
  return end_fields(fields, runs, string.match(j.entry, '^(%d+)'), 'failed', j.letter.error or '')
end

-- The job's fresh entry, with an id after its last entry's (a run's fence grows with the entry
-- id: lib/fence/fence.ts). In one stream Redis sees to that; but a high or low job comes back to
-- the normal stream, where `*` (the greater of Redis' clock and that stream's last id) is below
-- its last entry when both fall in one ms, or that entry's id came from ahead of Redis' clock.
-- The bound is what Redis issued, never a record field (a corrupt `e` of 2^64 - 1 would leave
-- the normal stream no ids): the last id generated in the level stream the job was on (its
-- record's `priority`; both level streams when the record is gone: expired, or dropped by a
-- failure on a full Redis), which is at or past every entry the job had there. When that id's
-- ms is not behind Redis' clock, the id just after it is asked for; a normal stream already
-- past it refuses that id, and its `*` is past the bound too. A rare path: a level job, an id
-- in this ms or the future.
local now_text = string.format('%.0f', now)
local LEVEL_STREAMS = { high = { KEYS[4] }, low = { KEYS[5] } }
local issued = {} -- per level stream: its last generated id, read once per call

-- The last id Redis generated in `stream` (XINFO STREAM: deleted entries keep it), as ms, seq;
-- '0', '0' for none (no stream, or a key of another type: no bound from it). Not under pcall: a
-- user refused XINFO STREAM (NOPERM) is told so, rather than given a lower fence unsaid.
local function last_issued(stream)
  if not issued[stream] then
    issued[stream] = { '0', '0' }
    if redis.call('TYPE', stream).ok == 'stream' then
      local info = redis.call('XINFO', 'STREAM', stream)
      for i = 1, #info - 1, 2 do
        if info[i] == 'last-generated-id' then issued[stream] = { id_split(info[i + 1]) } end
      end
    end
  end
  return issued[stream][1], issued[stream][2]
end

local function readd_after(r, id, f, attempts, runs)
  local streams = LEVEL_STREAMS[r.priority or '']
  if not streams and not r.status then streams = { KEYS[4], KEYS[5] } end -- no record: either
  local ms, seq = '0', '0'
  for _, stream in ipairs(streams or {}) do
    local sms, sseq = last_issued(stream)
    if id_before(ms, seq, sms, sseq) then ms, seq = sms, sseq end
  end
  local at = ms ~= '0' and not decimal_less(ms, now_text) and id_next(ms, seq)
  if at then
    local ok, entry = pcall(readd, KEYS[2], id, f, attempts, runs, at)
    if ok then return entry end
  end
  return readd(KEYS[2], id, f, attempts, runs)
end

local function requeue(j)
  local key, r, l = jprefix .. j.id, j.record, j.letter
  redis.call('XDEL', KEYS[1], j.entry)
  redis.call('DEL', rprefix .. j.id)
  local runs = (count(r.n) or 0) + 1
  local f = { t = r.t or l.task, p = r.p or l.payload or 'null', m = r.m or l.max_attempts or ARGV[3],
    o = r.o, k = r.k or l.limit_key }
  local fields = record_fields(f, 0, runs)
  for _, v in ipairs(last_run(j, runs)) do fields[#fields + 1] = v end
  redis.call('HSET', key, 'status', 'queued', 'q', r.q or auto_ms(j.id) or now, unpack(fields))
  -- A high or low job comes back at normal (KEYS[2] is the normal stream): its record says so.
  -- Its hold counts start afresh, as its attempts do (task_holds: lib/worker/held.ts, maxHolds).
  redis.call('HDEL', key, 'error', 'waiting_for', 'deferred', 'priority', 'task_holds',
    'limit_holds')
  redis.call('PERSIST', key)
  forget_old_run(key, runs)
  redis.call('HSET', key, 'e', readd_after(r, j.id, f, 0, runs))
  requeued = requeued + 1
  return 'requeued'
end

-- The stream must take an entry before any letter is deleted: with no ids left (its last id
-- 2^64-1 in both parts, written by hand) the XADD would fail after the letter's XDEL, and Redis
-- keeps what a script wrote: the job lost to a `queued` record (R-193's promote case, here).
local function requeues()
  for _, j in ipairs(jobs) do if not j.verdict then return true end end
  return false
end
if requeues() then
  local ms, seq = last_issued(KEYS[2])
  if ms == ID_MAX_PART and seq == ID_MAX_PART then
    return redis.error_reply('ERR courier: stream ' .. KEYS[2] .. ' has no ids left (its last id ' ..
      'is ' .. ID_MAX_PART .. '-' .. ID_MAX_PART .. '): nothing requeued')
  end
end
-- HSETNX: a write Redis checks against maxmemory that adds nothing, and that no corrupt
-- counter value can make fail (HINCRBY 0 could: the whole requeue refused).
if creates then redis.call('HSETNX', KEYS[3], 'requeued', 0) end
for _, j in ipairs(jobs) do
  out[#out + 1] = { j.verdict == 'missing' and j.want or j.id, j.verdict or requeue(j), j.reason }
end
if requeued > 0 then add_count(KEYS[3], 'requeued', requeued) end
return out
