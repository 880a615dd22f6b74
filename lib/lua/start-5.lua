-- Mark a batch of delivered entries as started and return what the worker needs to run them.
-- Entries that cannot run are settled here, in the same atomic step, so nothing stays pending:
--   no job id (garbled entry), job hash gone (expired or deleted), job already finished or
--   failed (a duplicate delivery) -> acknowledged and deleted;
--   attempts used up (its previous worker died on the last attempt) -> dead-lettered.
-- Each start appends {attempt, worker, start} to the job's `history` (a JSON array in the
-- job hash, the last HISTORY_KEPT attempts), written by the same HSET: no extra command
-- (helpers in _attempts.lua, prepended).
--
-- KEYS[1] stream   KEYS[2] dead (stream)   KEYS[3] events (stream)   KEYS[4] stats
-- KEYS[5] minutes (hash of per-minute counts)
-- ARGV[1] job key prefix   ARGV[2] group   ARGV[3] consumer   ARGV[4] now (ms)
-- ARGV[5] failure TTL (s)  ARGV[6] dead max len   ARGV[7] events max len
-- ARGV[8] 'read' or 'claim' (claims are counted in stats)
-- ARGV[9..] pairs: entry id, job id ('' when the entry had none)
-- Returns: per entry {entry id, verdict, ...}; verdict 'run' adds job id, task, payload,
-- attempt, max attempts; other verdicts ('bad', 'missing', 'done', 'dead') add job id.
local prefix, group, consumer, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local HISTORY_KEPT = 20
local out, started, dead = {}, 0, 0
local function settle(entry)
  redis.call('XACK', KEYS[1], group, entry)
  redis.call('XDEL', KEYS[1], entry)
end
for i = 9, #ARGV, 2 do
  local entry, id = ARGV[i], ARGV[i + 1]
  local f = id ~= '' and redis.call('HMGET', prefix .. id, 'task', 'payload', 'status', 'attempt',
    'max_attempts', 'error', 'history') or {}
  if id == '' then
    settle(entry); out[#out + 1] = { entry, 'bad', id }
  elseif not f[1] then
    settle(entry); out[#out + 1] = { entry, 'missing', id }
  elseif f[3] == 'finished' or f[3] == 'failed' then
    settle(entry); out[#out + 1] = { entry, 'done', id }
  else
    local attempt, max = tonumber(f[4]) or 0, tonumber(f[5]) or 1
    local h = decode_history(f[7])
    if attempt >= max then
      local err = 'abandoned: its worker stopped during attempt ' .. attempt .. ' of ' .. max
      if f[6] then err = err .. ' (earlier error: ' .. f[6] .. ')' end
      local last = h[#h]
      if last and not last['end'] then
        last['end'], last['error'], last['outcome'] = tonumber(now), err, 'failed'
      end
      local key = prefix .. id
      local letter = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'id', id,
        'task', f[1], 'error', err, 'attempts', attempt, 'payload', f[2], 'max_attempts', max)
      -- dead_entry lets `dead requeue ID` find the letter without scanning the dead stream.
      redis.call('HSET', key, 'status', 'failed', 'error', err, 'ended_at', now,
        'dead_entry', letter)
      if #h > 0 then redis.call('HSET', key, 'history', cjson.encode(h)) end
      redis.call('EXPIRE', key, ARGV[5])
      redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'type', 'failed', 'id', id)
      dead = dead + 1
      settle(entry); out[#out + 1] = { entry, 'dead', id }
    else
      attempt = attempt + 1
      h[#h + 1] = { attempt = attempt, worker = consumer, start = tonumber(now) }
      while #h > HISTORY_KEPT do table.remove(h, 1) end
      redis.call('HSET', prefix .. id, 'status', 'started', 'attempt', attempt,
        'worker', consumer, 'started_at', now, 'history', cjson.encode(h))
      started = started + 1
      out[#out + 1] = { entry, 'run', id, f[1], f[2], attempt, max }
    end
  end
end
if started > 0 then
  redis.call('HINCRBY', KEYS[4], 'started', started)
  if ARGV[8] == 'claim' then redis.call('HINCRBY', KEYS[4], 'claimed', started) end
end
if dead > 0 then
  redis.call('HINCRBY', KEYS[4], 'failed', dead)
  redis.call('HINCRBY', KEYS[4], 'dead', dead)
  -- Counted in this minute's bucket; finish and fail trim old buckets (rare here: no trim).
  redis.call('HINCRBY', KEYS[5], math.floor(tonumber(now) / 60000) .. ':failed', dead)
end
return out
