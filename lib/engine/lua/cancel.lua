-- Cancel jobs (docs/internals.md, "Cancel"): per id, atomically, wherever the job is now.
-- An outcome exists: the job ended, nothing is written ('ended' and how). Else the job is
-- taken out of where it waits: the delayed set (a delayed enqueue or a retry's back-off:
-- ZREM), a parked set (ZREM), the stream not yet delivered (XDEL of its entry: no worker can
-- read it any more); a delivered entry (pending: running, or held by a worker) is left for its
-- worker, which acknowledges it. In every such case the canceled outcome `C…` is written to
-- r:<id> with SET NX and the failure TTL, so a running job's finish loses (first outcome wins)
-- and its failure only acknowledges its entry (fail.lua: the job has an outcome); the record,
-- if any, says `status canceled` and gets the same TTL. The call's canceled ids go into one
-- entry of the shard's `canceled` stream (its ids only grow, whatever Redis' clock does; about
-- ARGV[7] entries kept), which workers running jobs read every cancelCheckMs from the last entry
-- they saw, to abort a canceled job's signal; one `canceled` event per call; the `canceled`
-- counter. The first write takes no memory (PERSIST of the stream, include/memory.lua), so on a
-- full Redis a cancel goes through for a running job as for a waiting one.
-- Reads come first per id (TYPE, HGETALL, XPENDING, XRANGE, ZSCORE); a key of a queue-wide
-- kind of the wrong type refuses the call before any write.
--
-- KEYS[1] stream  KEYS[2] delayed  KEYS[3] events  KEYS[4] stats  KEYS[5] canceled (stream)
-- KEYS[6] tasks (hash: parked:<task> counts)
-- KEYS[7] stream:high  KEYS[8] delayed:high  KEYS[9] tasks:high  KEYS[10] stream:low
-- KEYS[11] delayed:low  KEYS[12] tasks:low (a job whose record says `priority high|low` waits
--   in its level's keys; lib/engine/keys.ts levelKeys)
-- KEYS[13] has-dependents (set)  KEYS[14] ended-parents (zset): a canceled job that others wait
--   for goes into ended-parents (include/dependents.lua)  KEYS[15] children (zset: jobs
--   waiting for their parents; a canceled one leaves it, its waits:<id> set deleted)
-- KEYS[16] letting-go (zset: a canceled waiting child lets go of its parents' outcomes)
-- ARGV[1] result prefix  ARGV[2] record prefix  ARGV[3] parked prefix  ARGV[4] group
-- ARGV[5] failure TTL (s)  ARGV[6] events max len  ARGV[7] entries kept in `canceled`
-- ARGV[8] high's parked prefix  ARGV[9] low's parked prefix
-- ARGV[10] waits prefix (waits:<child>)  ARGV[11] parents prefix (parents:<child>: given the
--   failure TTL when a waiting child is canceled)
-- ARGV[12..] job ids of this shard (an auto id with the shard's suffix, `<entry id>:<s>`)
-- Returns per id {verdict, detail}: 'canceled' and where it was (queued, scheduled, retrying,
-- parked, started, waiting-for-parents); 'ended' and how (finished, failed, canceled);
-- 'unknown' and ''; 'corrupt' and the type r:<id> or the record holds, `string` for an r:<id>
-- that is no outcome, `hash that says nowhere the job is` for a garbled record (nothing written
-- for that id).
--- @include wrongtype
--- @include counters
--- @include clock
--- @include readd
--- @include memory
--- @include ids
--- @include dependents
--- @include canceled
local wrong = wrong_type({ KEYS[1], 'stream', KEYS[2], 'zset', KEYS[3], 'stream',
  KEYS[4], 'hash', KEYS[5], 'stream', KEYS[6], 'hash', KEYS[7], 'stream', KEYS[8], 'zset',
  KEYS[9], 'hash', KEYS[10], 'stream', KEYS[11], 'zset', KEYS[12], 'hash', KEYS[15], 'zset' })
if wrong then return wrong end
-- The first write takes no memory: Redis checks maxmemory before a script's first write only.
write_without_memory(KEYS[1])
local rprefix, jprefix, pprefix, group = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ENDED = { F = 'finished', X = 'failed', C = 'canceled' }
local now = clock_ms()
local out, canceled, parked = {}, {}, {}
-- Each level's waiting keys: stream, delayed set, tasks hash, parked prefix.
local NORMAL = { KEYS[1], KEYS[2], KEYS[6], pprefix }
local AT = { high = { KEYS[7], KEYS[8], KEYS[9], ARGV[8] },
  low = { KEYS[10], KEYS[11], KEYS[12], ARGV[9] } }


-- Where job `id` waits, taken out of it unless delivered: {from, fields, attempt, worker}, or nil.
local function take_out(id, record)
  local e = record.e
  local L = AT[record.priority or ''] or NORMAL
  local stream, delayed, tasks, pp = L[1], L[2], L[3], L[4]
  local auto = string.match(id, '^(%d+%-%d+):%d+$') or id
  if not e and is_entry(auto) then e = auto end
  if is_entry(e) then
    -- No group yet (no worker has joined): nothing was delivered.
    local ok, pending = pcall(redis.call, 'XPENDING', stream, group, e, e, 1)
    local p = ok and pending[1]
    local f = entry_at(stream, e)
    if p and f then
      local owner = string.gsub(p[2], '~gone$', '')
      return { from = 'started', f = f, attempt = (count(f.a) or 0) + p[4], worker = owner }
    end
    if f then
      redis.call('XDEL', stream, e)
      return { from = 'queued', f = f, attempt = count(f.a) }
    end
  end
  if redis.call('ZSCORE', delayed, id) then
    redis.call('ZREM', delayed, id)
    local from = record.status == 'retrying' and 'retrying' or 'scheduled'
    return { from = from, f = record, attempt = count(record.a) }
  end
  -- A job waiting for its parents is in no stream: its waits set goes (parent-ended.lua then
  -- finds nothing to remove there, and leaves it alone).
  if record.status == 'waiting-for-parents' then
    redis.call('DEL', ARGV[10] .. id)
    redis.call('EXPIRE', ARGV[11] .. id, ARGV[5])
    redis.call('ZREM', KEYS[15], id)
    -- It will never read its parents' outcomes: they need not be kept for it.
    pcall(redis.call, 'ZADD', KEYS[16], now, id)
    return { from = 'waiting-for-parents', f = record, attempt = count(record.a) }
  end
  local task = record.waiting_for
  if task and redis.call('TYPE', pp .. task).ok == 'zset'
    and redis.call('ZREM', pp .. task, id) == 1 then
    parked[#parked + 1] = { tasks, pp, task }
    return { from = 'parked', f = record, attempt = count(record.a) }
  end
end

for i = 12, #ARGV do
  local id = ARGV[i]
  local rkey, jkey = rprefix .. id, jprefix .. id
  local rtype = redis.call('TYPE', rkey).ok
  local jtype = redis.call('TYPE', jkey).ok
  -- One byte tells an outcome's kind: GET would copy a whole result into Lua.
  local kind = rtype == 'string' and ENDED[redis.call('GETRANGE', rkey, 0, 0)]
  if kind then
    out[#out + 1] = { 'ended', kind }
  elseif rtype ~= 'none' or (jtype ~= 'none' and jtype ~= 'hash') then
    out[#out + 1] = { 'corrupt', rtype ~= 'none' and rtype or jtype }
  else
    local record = to_map(redis.call('HGETALL', jkey))
    local at = take_out(id, record)
    if not at and jtype == 'hash' then
      -- A record that says nowhere the job is (its fields garbled by hand, R-192): not unknown,
      -- which would say the job never was.
      out[#out + 1] = { 'corrupt', 'hash that says nowhere the job is' }
    elseif not at then
      out[#out + 1] = { 'unknown', '' }
    else
      local enqueued = auto_ms(id) or record.q
      redis.call('SET', rkey, canceled_value(now, at.f, at.attempt, enqueued, at.worker, at.from),
        'NX', 'EX', ARGV[5])
      if jtype == 'hash' then
        redis.call('HSET', jkey, 'status', 'canceled')
        redis.call('EXPIRE', jkey, ARGV[5])
      end
      canceled[#canceled + 1] = id
      out[#out + 1] = { 'canceled', at.from }
    end
  end
end
for _, p in ipairs(parked) do
  redis.call('HSET', p[1], 'parked:' .. p[3], redis.call('ZCARD', p[2] .. p[3]))
end
if #canceled > 0 then
  local ids = table.concat(canceled, ',')
  -- Trimmed to about ARGV[6] entries, not ARGV[6] / #canceled as a finish does: a cancel of
  -- many ids would otherwise drop the single-job events (failed, retried, progress) of others.
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', 'type', 'canceled', 'ids', ids)
  add_count(KEYS[4], 'canceled', #canceled)
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[7], '*', 'ids', ids)
  note_ended(KEYS[13], KEYS[14], canceled, now)
end
return out
