-- Empty one shard of a queue (`queue.ts empty NAME --all`, docs/internals.md, "Empty"): its
-- waiting jobs (stream entries after the group's last-delivered-id: delivered to nobody yet),
-- its delayed jobs and its parked ones, at most ARGV[6] per call (the caller calls again while
-- a call removes that many: memory stays bounded). Running jobs (pending entries, all at or
-- before the last-delivered-id) are untouched. The read of the last-delivered-id and the XDEL
-- are in this one script: an entry a worker is delivered is never deleted, and one deleted is
-- never delivered. A removed job's record (an idempotency marker, a delayed or retrying job's
-- fields) goes too, unless the job has an outcome (a duplicate entry of an ended job): `result`
-- then says unknown, not queued for ever. Counted in `stats` field `emptied`.
-- A removed job other jobs wait for (in has-dependents: one SMISMEMBER per call, nothing per
-- job for the others) ends as a canceled one does (cancel.lua): the canceled outcome `C…`
-- (where it was: `queued, removed by queue empty`) with SET NX and the failure TTL, its record
-- `status canceled` with the same TTL (so it is kept, as the record of any job with an
-- outcome is), and noted in ended-parents (include/dependents.lua): its children then fail
-- (`parent <id> canceled`) or run, by their onParentFailure. No event, no `canceled` count.
--
-- KEYS[1] stream  KEYS[2] delayed (zset)  KEYS[3] tasks (hash)  KEYS[4] stats (hash)
-- KEYS[5] has-dependents (set)  KEYS[6] ended-parents (zset)
-- ARGV[1] record prefix  ARGV[2] result prefix  ARGV[3] parked prefix  ARGV[4] group
-- ARGV[5] the shard's id suffix (keys.ts idSuffix)  ARGV[6] most jobs removed per call
-- ARGV[7] failure TTL (s): a removed parent's canceled outcome's
-- Returns {waiting, delayed, parked} removed by this call, and {id, limit key, …}: the removed
-- jobs that had a limit key (their record's `k`): the caller drops them from
-- their keys' waiting lists (under the queue's tag: another slot), where each would otherwise
-- be woken in vain by a free (wake.lua finds no outcome to tell it ended), the real waiters
-- behind left to their fallback. Or an error reply `ERR courier: key … holds a …` (nothing
-- written).
--- @include wrongtype
--- @include counters
--- @include clock
--- @include readd
--- @include dependents
--- @include canceled
local wrong, types = wrong_type({ KEYS[1], 'stream', KEYS[2], 'zset', KEYS[3], 'hash',
  KEYS[4], 'hash' })
if wrong then return wrong end
local most = tonumber(ARGV[6])
local left = most

-- The job's record, unless the job has ended (its outcome keeps the record's TTL and history).
local function forget(id)
  if redis.call('EXISTS', ARGV[2] .. id) == 0 then redis.call('DEL', ARGV[1] .. id) end
end

-- Of the jobs removed, those others wait for (one SMISMEMBER per 1,000; under pcall, as
-- note_ended: a hand-edited key of another type leaves them removed as before) end canceled:
-- before forget(), which then keeps the record of a job with an outcome.
local function end_parents(gone)
  local ended = {}
  for i = 1, #gone, 1000 do
    local ids = {}
    for k = i, math.min(i + 999, #gone) do ids[#ids + 1] = gone[k][1] end
    local ok, marks = pcall(redis.call, 'SMISMEMBER', KEYS[5], unpack(ids))
    for k = 1, ok and #marks or 0 do
      if marks[k] == 1 then ended[#ended + 1] = gone[i + k - 1] end
    end
  end
  if #ended == 0 then return end
  local now, ids = clock_ms(), {}
  for _, g in ipairs(ended) do
    local id, jkey = g[1], ARGV[1] .. g[1]
    local jtype = redis.call('TYPE', jkey).ok
    local record = jtype == 'hash' and to_map(redis.call('HGETALL', jkey)) or {}
    local from = g[2]
    if from == 'delayed' then from = record.status == 'retrying' and 'retrying' or 'scheduled' end
    local f = g[3] and to_map(g[3]) or record
    local value = canceled_value(now, f, count(f.a), auto_ms(id) or record.q, '',
      from .. ', removed by queue empty')
    if redis.call('SET', ARGV[2] .. id, value, 'NX', 'EX', ARGV[7]) then
      if jtype == 'hash' then
        redis.call('HSET', jkey, 'status', 'canceled')
        redis.call('EXPIRE', jkey, ARGV[7])
      end
      ids[#ids + 1] = id
    end
  end
  note_ended(KEYS[5], KEYS[6], ids, now)
end

-- The group's last-delivered-id; no group yet: every entry waits (a worker's group reads from 0).
local function last_delivered()
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local name, last
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] end
      if g[i] == 'last-delivered-id' then last = g[i + 1] end
    end
    if name == ARGV[4] then return last end
  end
  return nil
end

-- Every job this call removed: {id, where it waited, its entry's fields (flat, from the stream)}.
local gone = {}
local waiting = 0
if types[KEYS[1]] == 'stream' then
  local last = last_delivered()
  local from = last and ('(' .. last) or '-'
  for _, e in ipairs(redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', left)) do
    local id = e[1] .. ARGV[5]
    local f = e[2]
    for i = 1, #f, 2 do
      if f[i] == 'i' then id = f[i + 1] end
    end
    redis.call('XDEL', KEYS[1], e[1])
    gone[#gone + 1] = { id, 'queued', f }
    waiting = waiting + 1
  end
  left = left - waiting
end

local delayed = 0
if left > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, left - 1)) do
    redis.call('ZREM', KEYS[2], id)
    gone[#gone + 1] = { id, 'delayed' }
    delayed = delayed + 1
  end
  left = left - delayed
end

-- Parked jobs, per task that has some (the tasks hash names them: `parked:<task>`).
local parked = 0
if left > 0 then
  local fields = redis.call('HKEYS', KEYS[3])
  for _, field in ipairs(fields) do
    local task = string.match(field, '^parked:(.*)$')
    if task and left > 0 then
      local key = ARGV[3] .. task
      if redis.call('TYPE', key).ok == 'zset' then
        local ids = redis.call('ZRANGE', key, 0, left - 1)
        for _, id in ipairs(ids) do
          redis.call('ZREM', key, id)
          gone[#gone + 1] = { id, 'parked' }
        end
        parked = parked + #ids
        left = left - #ids
        redis.call('HSET', KEYS[3], field, redis.call('ZCARD', key))
      end
    end
  end
end

end_parents(gone)
-- Each removed job's limit key, read before its record goes: a job that waited for a running
-- slot was given away (hold.lua), so it has a record keeping its entry's `k` (one of another
-- type has none).
local keyed = {}
for _, g in ipairs(gone) do
  local ok, k = pcall(redis.call, 'HGET', ARGV[1] .. g[1], 'k')
  if ok and type(k) == 'string' and k ~= '' then keyed[#keyed + 1], keyed[#keyed + 2] = g[1], k end
end
for _, g in ipairs(gone) do forget(g[1]) end
local removed = waiting + delayed + parked
if removed > 0 then add_count(KEYS[4], 'emptied', removed) end
return { waiting, delayed, parked, keyed }
