-- Engine v2: entries a worker takes that it did not get from a plain read (docs/internals.md,
-- "7. Claims"). Attempts come from delivery counts: attempt = a + deliveries, read with XPENDING,
-- which bumps nothing; nothing is written when a job starts, so this is where a job that kills
-- its workers is stopped.
-- 'others': entries idle for at least the lease (their worker stopped renewing) are taken over
--   with XCLAIM in the same script as the XPENDING that read their owner and count (nothing
--   renews in between; XCLAIM still applies its idle check and drops deleted entries). With
--   its attempts used up (a + deliveries >= m) the job is buried: a dead letter
--   `abandoned: its worker stopped during attempt X of M`, the failed value, acknowledged.
--   Else the abandoned run is written to the record (its end = the last lease renewal, the
--   last sign of life) and the entry is handed over as attempt a + deliveries + 1.
--   Entries pending on this consumer itself are not taken here ('own' mode reads them).
--   A handover consumer `<name>~gone` this call took entries from is deleted if it is left
--   with none pending (include/handover.lua).
--   An entry deleted while pending is acknowledged ('deleted'): Redis 6.2's XCLAIM answers nil
--   for it and leaves it pending, 7.x drops it. An entry whose `i` is no valid job id is
--   buried as corrupt (a letter named by its entry, no outcome): no record under a bad key.
--   A record the claim makes (an entry without `i`: the job had none) gets the failure TTL,
--   so that it cannot outlive the job when the stale first worker finishes it (a finish that
--   believes there is no record expires none); the scripts that keep a job waiting on its
--   record (fail's retry, leave, release) PERSIST it, and a finish that has it sets its own TTL.
-- 'own': this consumer's own pending entries (after a read whose reply was lost), read with
--   XPENDING + XRANGE: no delivery count bumped (XREADGROUP ... 0 would charge an attempt).
--   Only while the name is this start's (KEYS[8]'s `start` is ARGV[15], or the hash is gone):
--   a process that stalled past its hash's TTL, its name since taken by a later start, would
--   otherwise run that start's entries with their own delivery counts, so the same fences,
--   beside it (docs/internals.md, "A name taken over"). Read nothing then, and say so.
-- Both modes reply with whole entries (payload included), so a call stops once the entries it
-- read reach ARGV[16] bytes (the one that crosses it included), and its cursor is the last
-- entry it took: 500 of 256 KB made one call of 0.5 to 2.5 s and a reply of 125 MB. 'others'
-- claims one entry at a time for it: an XCLAIM of them all would read them all at once.
--
-- KEYS[1] stream  KEYS[2] dead  KEYS[3] events  KEYS[4] stats  KEYS[5] minutes
-- KEYS[6] has-dependents (set)  KEYS[7] ended-parents (zset): a job buried with its attempts
--   used up that others wait for goes into ended-parents (include/dependents.lua)
-- ARGV[1] result prefix  ARGV[2] record prefix  ARGV[3] group  ARGV[4] consumer
-- ARGV[5] mode: 'others' or 'own'  ARGV[6] min idle ms (the lease)  ARGV[7] cursor: the last
--   entry examined by the previous call, '0-0' to start  ARGV[8] most entries
-- ARGV[9] failure TTL (s; 0 = Redis is full: a burial as fail.lua's compact one)
-- ARGV[10] dead max len  ARGV[11] events max len
-- ARGV[12] minutes of per-minute counts kept
-- ARGV[13] the handover suffix (keys.ts HANDOVER_SUFFIX): an entry pending on `<name>~gone`
--   was run by `<name>` (a dead predecessor; lib/worker/presence.ts), whom history names
-- ARGV[14] the shard's id suffix (keys.ts idSuffix: '' for one shard, `:<s>` of N > 1): an
--   entry without `i` is the job whose auto id is the entry id and the suffix
-- KEYS[8] the worker's hash (name.lua)  ARGV[15] this start's token ('' = not checked)
-- ARGV[16] most entry bytes read per call
-- Returns: {next cursor ('0-0' when the scan ended), items}, an item per entry:
--   {entry, 'run', attempt, run number, has record 1/0, fields (flat), previous owner},
--   {entry, 'buried', attempt, job id ('' when not valid)}, {entry, 'done'} (the job has an outcome already: acknowledged),
--   or {entry, 'deleted'} (gone from the stream: nothing to run).
--   Own mode, the name held by another start: {'0-0', {}, 'taken'}, nothing read or written.
--- @include wrongtype
--- @include history
--- @include counters
--- @include minutes
--- @include entries
--- @include clock
--- @include dead
--- @include readd
--- @include handover
--- @include dependents
local wrong = wrong_type({ KEYS[1], 'stream', KEYS[2], 'stream', KEYS[3], 'stream',
  KEYS[4], 'hash', KEYS[5], 'hash' })
if wrong then return wrong end
if ARGV[5] == 'own' and ARGV[15] ~= '' then
  local ok, holder = pcall(redis.call, 'HGET', KEYS[8], 'start')
  if ok and holder and holder ~= ARGV[15] then return { '0-0', {}, 'taken' } end
end
local rprefix, jprefix, group, me = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local start = ARGV[7] == '0-0' and '-' or '(' .. ARGV[7]
local most, most_bytes, bytes = tonumber(ARGV[8]), tonumber(ARGV[16]), 0
-- The last entry taken when the bytes bound stopped the call: the next call goes on after it.
local cut
local now = clock_ms()
local out, acks, claimed, buried = {}, {}, 0, 0
local ended = {} -- ids buried with an outcome: their dependents are told (note_ended)
local handovers = {} -- handover consumers entries were claimed from: deleted at the end if empty
redis.call('PERSIST', KEYS[1]) -- a write that takes no memory first: a full Redis lets it run

local function job_id(entry, f) return f.i or entry .. ARGV[14] end

-- The worker that ran an entry pending on `owner`: a handed-over entry's is the name before
-- the suffix (no worker's own name ends in it: lib/config.ts).
local suffix = ARGV[13]
local function ran_by(owner)
  if #owner > #suffix and string.sub(owner, -#suffix) == suffix then
    return string.sub(owner, 1, -#suffix - 1)
  end
  return owner
end

-- Fails a job whose attempts are used up, with the run that killed its worker as the last.
local function bury(entry, f, p, used)
  local id, key = job_id(entry, f), jprefix .. job_id(entry, f)
  local err = 'abandoned: its worker stopped during attempt ' .. int(used) .. ' of ' .. (f.m or '?')
  local ok, earlier = pcall(redis.call, 'HMGET', key, 'error', 'q')
  earlier = ok and earlier or {}
  if earlier[1] then err = err .. ' (earlier error: ' .. earlier[1] .. ')' end
  -- The run that killed its worker ended at its last lease renewal; how long it ran is unknown.
  local _, code = fail_for_good({ dead = KEYS[2], dead_max = ARGV[10], id = id,
    -- int(): a count past 2^53 (a delivery count set by hand) is written in digits, not 9.2e+18.
    f = { t = f.t, p = f.p, a = int(used), m = f.m, k = f.k }, err = err, ttl = ARGV[9], now = now - p[3],
    result_key = rprefix .. id, record_key = ok and key or nil, attempt = used, worker = ran_by(p[2]),
    enqueued = earlier[2] or auto_ms(id) })
  if code == 1 and ok and redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'status', 'failed', 'error', err)
  end
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[11], '*', 'type', 'failed', 'id', id)
  acks[#acks + 1] = entry
  buried = buried + 1
  ended[#ended + 1] = id
  out[#out + 1] = { entry, 'buried', int(used), id }
end

-- Writes the run the previous owner abandoned; the claimed entry runs as the next attempt.
local function take_over(entry, f, raw, p, used)
  local id, runs = job_id(entry, f), (count(f.n) or 0) + p[4]
  local key = jprefix .. id
  local ok = pcall(redis.call, 'HSET', key, 'status', 'started', 'e', entry, 'n', runs,
    run_field(runs), int(used) .. '  ' .. ran_by(p[2]), end_field(runs), ended_as(now - p[3], 'abandoned'))
  if ok then
    keep_enqueued(key, id)
    forget_old_run(key, runs)
    -- Made by this claim (no `i`): expires unless a later write keeps it (see above).
    if not f.i and tonumber(ARGV[9]) > 0 then redis.call('EXPIRE', key, ARGV[9]) end
  end
  claimed = claimed + 1
  out[#out + 1] = { entry, 'run', used + 1, runs + 1, ok and 1 or 0, raw, p[2] }
end

-- An entry whose `i` is not a job id (lib/engine/record.ts isValidJobId): buried as bury.lua
-- buries an entry of unknown id, with a letter named by the entry's auto id (the entry id and
-- the shard's suffix: the id names its shard) and nothing else.
local function bad_id(entry, f, used)
  local named = entry .. ARGV[14]
  dead_letter(KEYS[2], ARGV[10], named, f, 'corrupt record: job id is not valid', false)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[11], '*', 'type', 'failed', 'id', named)
  acks[#acks + 1] = entry
  buried = buried + 1
  out[#out + 1] = { entry, 'buried', used, '' }
end

-- One lapsed entry of another consumer taken over (XCLAIM applies its idle check and drops a
-- deleted entry): its fields weighed, then settled.
local function claim_one(p)
  local entry = p[1]
  if ran_by(p[2]) ~= p[2] then handovers[p[2]] = true end
  local e = redis.call('XCLAIM', KEYS[1], group, me, ARGV[6], entry)[1]
  local raw = e and e[1] and (e[2] or {})
  if raw then bytes = bytes + flat_bytes(raw) end
  local f = raw and to_map(raw)
  local a, m = f and count(f.a), f and count(f.m)
  if not f then
    acks[#acks + 1] = entry -- 6.2 leaves it pending: nothing to run, nothing to keep
    out[#out + 1] = { entry, 'deleted' }
  elseif f.i and not valid_id(f.i) then
    bad_id(entry, f, (a or 0) + p[4])
  elseif redis.call('TYPE', rprefix .. job_id(entry, f)).ok == 'string' then
    -- The job has its outcome (a duplicate entry): nothing to run, nor to bury. TYPE, not
    -- EXISTS: r:<id> of another type is no outcome; the job runs, and its finish or failure
    -- dead-letters it as corrupt (finish.lua, fail.lua).
    acks[#acks + 1] = entry
    out[#out + 1] = { entry, 'done' }
  elseif a and m and a + p[4] >= m then
    bury(entry, f, p, a + p[4])
  else
    -- A malformed a or m: handed over as it is; the worker's validation buries it.
    take_over(entry, f, raw, p, (a or 0) + p[4])
  end
end

local function others()
  local pending = redis.call('XPENDING', KEYS[1], group, 'IDLE', ARGV[6], start, '+', most)
  local last
  for _, p in ipairs(pending) do
    if p[2] ~= me then -- own entries: 'own' mode's, not a takeover
      if bytes >= most_bytes then
        cut = last
        break
      end
      claim_one(p)
      last = p[1]
    end
  end
  return pending
end

local function own()
  local pending = redis.call('XPENDING', KEYS[1], group, start, '+', most, me)
  for i, p in ipairs(pending) do
    if bytes >= most_bytes then
      cut = pending[i - 1][1]
      break
    end
    local entry = p[1]
    local e = redis.call('XRANGE', KEYS[1], entry, entry)[1]
    if e then bytes = bytes + flat_bytes(e[2]) end
    if not e then
      acks[#acks + 1] = entry -- deleted while pending here: nothing to run, nothing to keep
      out[#out + 1] = { entry, 'deleted' }
    else
      local f = to_map(e[2])
      local has = f.i and 1 or redis.call('EXISTS', jprefix .. job_id(entry, f))
      out[#out + 1] = { entry, 'run', (count(f.a) or 0) + p[4], (count(f.n) or 0) + p[4], has,
        e[2], me }
    end
  end
  return pending
end

local pending = ARGV[5] == 'own' and own() or others()
if claimed > 0 then add_count(KEYS[4], 'claimed', claimed) end
if buried > 0 then
  add_count(KEYS[4], 'failed', buried)
  add_count(KEYS[4], 'dead', buried)
  count_minute(KEYS[5], now, tonumber(ARGV[12]), 'failed', buried)
end
if letters_trimmed > 0 then add_count(KEYS[4], 'dead_trimmed', letters_trimmed) end
if #ended > 0 then note_ended(KEYS[6], KEYS[7], ended, now) end
ack_and_trim(KEYS[1], group, acks)
for ghost in pairs(handovers) do drop_empty_handover(KEYS[1], group, ghost) end
local next = cut or (#pending == most and pending[#pending][1]) or '0-0'
return { next, out }
