-- Requeue dead letters: each job runs again with a fresh attempt count, atomically, so a job is
-- never both dead and queued. Its dead letter is deleted, its record goes back to 'queued'
-- (attempt 0, no TTL, its history kept) and its id is added to the stream. A record that
-- expired meanwhile is recreated from the letter (task, payload, max attempts), its history
-- holding the attempt that died. A letter whose job is alive again (queued, running, retrying,
-- finished: its id was reused) is left alone.
--
-- KEYS[1] dead (stream)   KEYS[2] stream   KEYS[3] stats
-- ARGV[1] job key prefix   ARGV[2] max attempts for letters without one
-- ARGV[3..] pairs: dead letter entry id, job id it must carry ('' = whichever it carries)
-- Returns: per pair {job id or '', verdict}: 'requeued', 'missing' (no such letter, or one
-- for another job), 'active' (the job is not failed).
-- Or an error reply `ERR courier: key … holds a …` when a queue-wide key holds the wrong type,
-- with nothing written (wrong_type, include/wrongtype.lua): a WRONGTYPE from the XADD would come after
-- the letter was deleted and the record said queued, leaving the job in no stream.
--- @include clock
--- @include wrongtype
--- @include history
local wrong = wrong_type({ KEYS[1], 'stream', KEYS[2], 'stream', KEYS[3], 'hash' })
if wrong then return wrong end
local prefix, now = ARGV[1], clock_ms()
local out, requeued = {}, 0

-- The letter at `entry` as a table of its fields (empty when there is none).
local function letter_at(entry)
  local e = redis.call('XRANGE', KEYS[1], entry, entry)[1]
  local letter = {}
  if e then
    for j = 1, #e[2] - 1, 2 do letter[e[2][j]] = e[2][j + 1] end
  end
  return letter
end

-- A full Redis (maxmemory, noeviction) refuses a command that may take memory only as a
-- script's first write; later ones go through. Recreating a record from its letter takes
-- memory, but the first write of a batch whose first letter still has its record is an HDEL,
-- which Redis does not check: so whether the batch recreates any record is decided here, before
-- any write, and if so the first write is one Redis checks (HINCRBY, which adds nothing), so a
-- full Redis refuses the whole call (OOM) with nothing written, as for a single letter.
local function recreates_any()
  for i = 3, #ARGV, 2 do
    local id = letter_at(ARGV[i]).id
    if id and (ARGV[i + 1] == '' or id == ARGV[i + 1]) then
      local ok, status = pcall(redis.call, 'HGET', prefix .. id, 'status')
      if ok and not status then return true end
    end
  end
  return false
end
if recreates_any() then redis.call('HINCRBY', KEYS[3], 'requeued', 0) end

for i = 3, #ARGV, 2 do
  local entry, want = ARGV[i], ARGV[i + 1]
  local letter = letter_at(entry)
  local id = letter.id
  if not id or (want ~= '' and id ~= want) then
    out[#out + 1] = { want, 'missing' }
  else
    local key = prefix .. id
    -- Under pcall: a job key that is not a hash is not a failed job; it is left alone, and
    -- the rest of the batch is requeued.
    local ok, status = pcall(redis.call, 'HGET', key, 'status')
    if not ok or (status and status ~= 'failed') then
      out[#out + 1] = { id, 'active' }
    else
      if status then
        redis.call('HDEL', key, 'error', 'worker', 'boot', 'started_at', 'ended_at', 'result',
          'dead_entry')
        redis.call('PERSIST', key)
      else
        -- The history holds the attempt that died as run 1 (include/history.lua), with no
        -- start time nor worker (the letter has neither), ended when the letter was written.
        local fields = { 'task', letter.task or '', 'payload', letter.payload or 'null',
          'max_attempts', letter.max_attempts or ARGV[2], 'enqueued_at', now, 'runs', 1,
          run_field(1), (tonumber(letter.attempts) or 0) .. opened('', '') }
        local died = string.match(entry, '^(%d+)')
        redis.call('HSET', key, unpack(end_fields(fields, 1, died, 'failed', letter.error or '')))
      end
      redis.call('HSET', key, 'status', 'queued', 'attempt', 0)
      redis.call('XDEL', KEYS[1], entry)
      redis.call('XADD', KEYS[2], '*', 'id', id)
      requeued = requeued + 1
      out[#out + 1] = { id, 'requeued' }
    end
  end
end
if requeued > 0 then redis.call('HINCRBY', KEYS[3], 'requeued', requeued) end
return out
