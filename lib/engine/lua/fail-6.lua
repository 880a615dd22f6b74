-- Settle a batch of failed attempts. Each job either waits in the delayed set for its retry
-- (status 'retrying') or, when it may not run again, fails for good: status 'failed', a dead
-- letter, and the failure TTL. Only the job's current run may fail it: a job that ended,
-- or that has started again since, is left as it is.
-- An entry is acknowledged and removed when its outcome is recorded here, or the job has
-- ended or is gone; a retry adds a fresh entry later. A failure of a run that is no longer the
-- job's current one does not acknowledge: the entry may be another worker's lease now (a claim
-- keeps the entry id), and if no one holds it, a claim after claimIdleMs settles it.
-- Order: reads, then a write that takes no memory (so a full Redis still lets the outcomes be
-- written: Redis checks maxmemory only before a script's first write), then the outcomes, then
-- the acknowledgements, last: a script error half-way (Redis does not roll back) then leaves
-- every entry pending, never one acknowledged and unrecorded. Queue-wide keys of the wrong type
-- are refused before any write (wrong_type, include/wrongtype.lua).
-- The failed run is ended in the job's history with its error (same HSET), and counted, per
-- batch, in this minute's bucket (`retried` or `failed`) (include/history.lua, minutes.lua).
--
-- KEYS[1] stream  KEYS[2] delayed (zset)  KEYS[3] dead (stream)  KEYS[4] events  KEYS[5] stats
-- KEYS[6] minutes (hash of per-minute counts)
-- ARGV[1] job key prefix  ARGV[2] group
-- ARGV[3] failure TTL (s); 0 = compact, what a worker sends while Redis is full, so that a
--   failure frees memory (lib/worker/outcomes.ts): no failed record is kept (deleted), only the dead
--   letter, its error cut to COMPACT_ERROR_CHARS, and one `failed` event per batch (ids
--   joined), not one per job. Together less than the job record and stream entry freed.
-- ARGV[4] dead max len    ARGV[5] events max len  ARGV[6] minutes of per-minute counts kept
-- ARGV[7..] quintuples: entry id, job id, run, error, retry in (ms; -1 = no retry, fail now):
--   the job is due at Redis' time plus that delay, not at a time from the worker's clock
-- Returns: one integer per job, 1 = will retry, 2 = failed (dead letter), 0 = left alone
-- (ended, or not this run any more), -1 = job hash gone, -2 = job key not a hash (corrupt).
-- Or an error reply `ERR courier: key … holds a …` (nothing written).
--- @include clock
--- @include wrongtype
--- @include history
--- @include minutes
--- @include dead
--- @include memory
--- @include entries
local wrong = wrong_type({ KEYS[1], 'stream', KEYS[2], 'zset', KEYS[3], 'stream',
  KEYS[4], 'stream', KEYS[5], 'hash', KEYS[6], 'hash' })
if wrong then return wrong end
local prefix, group, now = ARGV[1], ARGV[2], clock_ms()
local out, retried, failed, entries, records = {}, 0, 0, {}, {}
local COMPACT_ERROR_CHARS = 100
local compact, compacted = ARGV[3] == '0', {}
local DROPPED = { 'record', 'dropped' } -- on a compact letter: lib/engine/letters.ts reads those only
-- Where a job failed for good goes (include/dead.lua).
local grave = { dead = KEYS[3], dead_max = ARGV[4], events = KEYS[4], events_max = ARGV[5],
  ttl = ARGV[3], now = now }

-- Reads first: what to do with each job, and which entries are ours to acknowledge.
for i = 7, #ARGV, 5 do
  local run = tonumber(ARGV[i + 2])
  -- Under pcall: a job key that is no longer a hash must not fail the batch (-2, settled).
  local ok, f = pcall(redis.call, 'HMGET', prefix .. ARGV[i + 1], 'status', 'task', 'attempt',
    'payload', 'max_attempts', 'runs')
  local reply
  if not ok then
    reply = -2
  elseif not f[1] then
    reply = -1
  elseif f[1] ~= 'started' or tonumber(f[6]) ~= run then
    -- Ended already, or no longer this run (a re-sent failure after a lost reply, or a run
    -- another worker has taken over): applying it again would retry the job twice.
    reply = 0
  end
  out[#out + 1] = reply or false
  records[#records + 1] = ok and f
  if reply ~= 0 or f[1] == 'finished' or f[1] == 'failed' then entries[#entries + 1] = ARGV[i] end
end
write_without_memory(KEYS[1])
for i = 7, #ARGV, 5 do
  local n = (i - 2) / 5 -- this job's place in out and records
  local id, run, f = ARGV[i + 1], tonumber(ARGV[i + 2]), records[n]
  local err, retry_in = ARGV[i + 3], tonumber(ARGV[i + 4]) or -1
  local key = prefix .. id
  if out[n] then -- settled above: nothing to write
  elseif retry_in >= 0 then
    local fields = { 'status', 'retrying', 'error', err }
    redis.call('HSET', key, unpack(end_fields(fields, run, now, 'retrying', err)))
    redis.call('ZADD', KEYS[2], now + retry_in, id)
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'type', 'retried', 'id', id)
    retried = retried + 1
    out[n] = 1
  else
    local job = { task = f[2], attempt = f[3], payload = f[4], max_attempts = f[5] }
    -- A compact letter says the record is gone: the letter is all there is.
    local letter = add_letter(grave, id, job,
      compact and string.sub(err, 1, COMPACT_ERROR_CHARS) or err, compact and DROPPED or nil)
    if compact then
      redis.call('DEL', key)
      compacted[#compacted + 1] = id
    else
      record_failed(grave, key, id, letter, err, run)
    end
    failed = failed + 1
    out[n] = 2
  end
end
if retried > 0 then
  redis.call('HINCRBY', KEYS[5], 'retried', retried)
  count_minute(KEYS[6], now, tonumber(ARGV[6]), 'retried', retried)
end
if #compacted > 0 then
  -- As finish-5.lua: the events stream keeps about ARGV[5] jobs' events, not entries.
  local keep = math.max(1, math.ceil(tonumber(ARGV[5]) / #compacted))
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', keep, '*', 'type', 'failed', 'ids',
    table.concat(compacted, ','))
end
if failed > 0 then
  redis.call('HINCRBY', KEYS[5], 'failed', failed)
  redis.call('HINCRBY', KEYS[5], 'dead', failed)
  count_minute(KEYS[6], now, tonumber(ARGV[6]), 'failed', failed)
end
ack_and_trim(KEYS[1], group, entries)
return out
