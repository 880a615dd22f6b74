-- Write a job that waits for its parents (docs/internals.md, "Dependencies and batches"), on
-- the child's shard. The child is in no stream while it waits: its record holds the fields its
-- entry will have (t p a m [o] [k] n), `status waiting-for-parents`, `on_parent_failure` and
-- `listed` (how many parent ids its lists hold), and it is in the shard's `children` set (for
-- listings). Its parents go into `waits:<child>` (those still to end) and `parents:<child>`
-- (all of them, in order: ctx.parents() pages it) by 'add' calls, in chunks, BEFORE any parent
-- shard learns of the child (depend.lua): no parent can be taken out of an unfinished set.
-- Each step is safe to repeat: a producer that sends again (a lost reply, a caller id given
-- again) finds the record and goes on from `listed`. The record keeps how many parents the
-- child has (`parents_n`) and a hash of their list (`parents_hash`): a send again with another
-- list is told apart (lib/queue/depends.ts refuses it). The child stays in `registering` until
-- the producer's last step ('registered'); workers finish the steps of a child left there by a
-- producer that stopped ('stale', lib/worker/orphans.ts).
--
-- KEYS[1] children (zset)  KEYS[2] meta (hash: `levels 1` for a high or low child; a fresh
--   shard's format, created_at and, of N > 1 shards, `of`)
-- KEYS[3] stats (hash: `enqueued`)  KEYS[4] registering (zset)
-- ARGV[1] record prefix  ARGV[2] waits prefix  ARGV[3] parents prefix  ARGV[4] child id
-- ARGV[5] mode: 'create', 'add', 'registered' or 'stale'
-- create: ARGV[6] task  ARGV[7] payload JSON  ARGV[8] max attempts  ARGV[9] options JSON ('' =
--   none)  ARGV[10] level ('' = normal, 'high', 'low')  ARGV[11] on parent failure: 'fail'|'run'
--   ARGV[12] how many parents  ARGV[13] the hash of their list  ARGV[14] limit key ('' = none:
--   "Rate limits"), kept as the record's `k` for the entry  ARGV[15] the producer's layout, as
--   enqueue.lua's ARGV[3] (`2`, `2?`, `2?/4`; '' = none checked): a shard with no meta is made
--   (its format written, and `of`) only without `?`, and a meta whose `of` is another count is
--   refused with `?` (`courier: shard … has no meta` / `… is one of M shards`; a one-shard
--   queue's meta saying other shards, `courier: queue … was made with N shards`: nothing
--   written, the producer reads the layout again), else given the producer's count: a child
--   written in a shard of another layout than the queue's would be found by no worker
--   Returns { 1 created | 0 existed, listed, status, parents_hash }: an existing record is left
--   as it is.
-- add: ARGV[6] offset (how many ids earlier calls listed)  ARGV[7..] parent ids
--   Returns { 1, listed }: the ids are listed only when `listed` is the offset (a chunk sent
--   again lists nothing twice); { 0, '' } when the child is no longer waiting.
--   Each 'add' also moves the child's `registering` score to now (ZADD XX): a worker's sweep
--   takes over only a child whose producer has been silent for the whole grace.
-- touch: the same refresh, nothing else (between the producer's depend.lua calls, which run on
--   the parents' shards). Returns { the record's status ('' when there is none), now (ms) }:
--   depend.lua 'add' is given that time, and does nothing once it is too old.
-- registered: the child leaves `registering` (ARGV[4] the child). Returns 1.
-- stale: ARGV[6] age (ms)  ARGV[7] most. Returns { {id, status, listed, parents_n}, … }: the
--   children in `registering` longer than the age (ARGV[4] unused).
--- @include wrongtype
--- @include clock
--- @include counters
local wrong, types = wrong_type({ KEYS[1], 'zset', KEYS[2], 'hash', KEYS[3], 'hash',
  KEYS[4], 'zset' })
if wrong then return wrong end
local id = ARGV[4]
local key = ARGV[1] .. id
if ARGV[5] == 'registered' then
  redis.call('ZREM', KEYS[4], id)
  return 1
end
if ARGV[5] == 'touch' then
  local now = clock_ms()
  redis.call('ZADD', KEYS[4], 'XX', now, id)
  local t = redis.call('TYPE', key).ok == 'hash'
  return { t and (redis.call('HGET', key, 'status') or '') or '', tostring(now) }
end
if ARGV[5] == 'stale' then
  local before = clock_ms() - tonumber(ARGV[6])
  local ids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', before, 'LIMIT', 0, tonumber(ARGV[7]))
  local out = {}
  for _, c in ipairs(ids) do
    local f = redis.call('TYPE', ARGV[1] .. c).ok == 'hash'
      and redis.call('HMGET', ARGV[1] .. c, 'status', 'listed', 'parents_n') or {}
    out[#out + 1] = { c, f[1] or '', f[2] or '', f[3] or '' }
  end
  return out
end
if ARGV[5] == 'create' then
  local format, ask, count = string.match(ARGV[15] or '', '^([^?/]*)(%??)/?(%d*)$')
  local meta = types[KEYS[2]] == 'hash'
  local own = false -- the meta is given the producer's count (`of`) with the child
  if meta and format ~= '' then
    -- A child pays this read (a batch reads the same in its one HMGET): a one-shard queue's
    -- meta (its layout key) saying other shards, as enqueue.lua refuses it.
    local read = redis.call('HMGET', KEYS[2], 'shards', 'of')
    local shards, of = read[1], read[2]
    if shards and not string.match(shards, '^0*1$') then
      return redis.error_reply('courier: queue ' .. KEYS[2] .. ' was made with ' ..
        string.sub(shards, 1, 20) .. ' shards by another process: connect again')
    end
    if count ~= '' and of and of ~= count and ask ~= '' then
      return redis.error_reply('courier: shard ' .. KEYS[2] .. ' is one of ' ..
        string.sub(of, 1, 20) .. ' shards: read the layout again')
    end
    own = count ~= '' and of ~= count and ask == ''
  elseif not meta and ask ~= '' then
    return redis.error_reply('courier: shard ' .. KEYS[2] .. ' has no meta: read the layout again')
  end
  local t = redis.call('TYPE', key).ok
  if t ~= 'none' then
    local f = t == 'hash' and redis.call('HMGET', key, 'listed', 'status', 'parents_hash') or {}
    return { 0, f[1] or '', f[2] or t, f[3] or '' }
  end
  local now = clock_ms()
  local fields = { 't', ARGV[6], 'p', ARGV[7], 'a', 0, 'm', ARGV[8], 'n', 0, 'q', now,
    'status', 'waiting-for-parents', 'on_parent_failure', ARGV[11], 'listed', 0,
    'parents_n', ARGV[12], 'parents_hash', ARGV[13] }
  if ARGV[9] ~= '' then fields[#fields + 1] = 'o'; fields[#fields + 1] = ARGV[9] end
  if (ARGV[14] or '') ~= '' then fields[#fields + 1] = 'k'; fields[#fields + 1] = ARGV[14] end
  if ARGV[10] ~= '' then
    fields[#fields + 1] = 'priority'; fields[#fields + 1] = ARGV[10]
    redis.call('HSET', KEYS[2], 'levels', 1)
  end
  redis.call('HSET', key, unpack(fields))
  if not meta and format ~= '' then
    redis.call('HSET', KEYS[2], 'format', format, 'created_at', now)
  end
  if (own or not meta) and count ~= '' then redis.call('HSET', KEYS[2], 'of', count) end
  redis.call('ZADD', KEYS[1], now, id)
  redis.call('ZADD', KEYS[4], now, id)
  -- The record is written: a stats field that is not an integer must not fail the call now.
  add_count(KEYS[3], 'enqueued', 1)
  return { 1, '0', 'waiting-for-parents', ARGV[13] }
end
local f = redis.call('TYPE', key).ok == 'hash' and redis.call('HMGET', key, 'status', 'listed')
if not f or f[1] ~= 'waiting-for-parents' then return { 0, '' } end
redis.call('ZADD', KEYS[4], 'XX', clock_ms(), id)
local listed = tonumber(f[2]) or 0
if listed ~= tonumber(ARGV[6]) then return { 1, tostring(listed) } end
local n = #ARGV - 6
for i = 7, #ARGV, 1000 do
  local last = math.min(i + 999, #ARGV)
  redis.call('RPUSH', ARGV[3] .. id, unpack(ARGV, i, last))
  redis.call('SADD', ARGV[2] .. id, unpack(ARGV, i, last))
end
redis.call('HSET', key, 'listed', listed + n)
return { 1, tostring(listed + n) }
