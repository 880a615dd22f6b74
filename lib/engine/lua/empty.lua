-- Empty one shard of a queue (`queue.ts empty NAME --all`, docs/internals.md, "Empty"): its
-- waiting jobs (stream entries after the group's last-delivered-id: delivered to nobody yet),
-- its delayed jobs and its parked ones, at most ARGV[6] per call (the caller calls again while
-- a call removes that many: memory stays bounded). Running jobs (pending entries, all at or
-- before the last-delivered-id) are untouched. The read of the last-delivered-id and the XDEL
-- are in this one script: an entry a worker is delivered is never deleted, and one deleted is
-- never delivered. A removed job's record (an idempotency marker, a delayed or retrying job's
-- fields) goes too, unless the job has an outcome (a duplicate entry of an ended job): `result`
-- then says unknown, not queued for ever. Counted in `stats` field `emptied`.
--
-- KEYS[1] stream  KEYS[2] delayed (zset)  KEYS[3] tasks (hash)  KEYS[4] stats (hash)
-- ARGV[1] record prefix  ARGV[2] result prefix  ARGV[3] parked prefix  ARGV[4] group
-- ARGV[5] the shard's id suffix (keys.ts idSuffix)  ARGV[6] most jobs removed per call
-- Returns {waiting, delayed, parked} removed by this call. Or an error reply `ERR courier: key
-- … holds a …` (nothing written).
--- @include wrongtype
--- @include counters
local wrong, types = wrong_type({ KEYS[1], 'stream', KEYS[2], 'zset', KEYS[3], 'hash',
  KEYS[4], 'hash' })
if wrong then return wrong end
local most = tonumber(ARGV[6])
local left = most

-- The job's record, unless the job has ended (its outcome keeps the record's TTL and history).
local function forget(id)
  if redis.call('EXISTS', ARGV[2] .. id) == 0 then redis.call('DEL', ARGV[1] .. id) end
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
    forget(id)
    waiting = waiting + 1
  end
  left = left - waiting
end

local delayed = 0
if left > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, left - 1)) do
    redis.call('ZREM', KEYS[2], id)
    forget(id)
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
          forget(id)
        end
        parked = parked + #ids
        left = left - #ids
        redis.call('HSET', KEYS[3], field, redis.call('ZCARD', key))
      end
    end
  end
end

local removed = waiting + delayed + parked
if removed > 0 then add_count(KEYS[4], 'emptied', removed) end
return { waiting, delayed, parked }
