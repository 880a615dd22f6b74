-- Engine v2: entries whose task this worker lacks (docs/internals.md, "3. Start"), left for a worker
-- that has it, spending no attempt: the entry is acknowledged and deleted, and the job comes
-- back as a fresh entry (delivery count 1 again) with `a + deliveries - 1`, i.e. `a` unchanged
-- for a fresh delivery. When a live worker has the task (`alive_until:<task>` in the tasks hash,
-- set by serve.lua from Redis' clock, not before TIME) the job is deferred: re-added at once the
-- first time, later through the delayed set; else it is parked in `parked:<task>` (record
-- `waiting_for`) until serve.lua sees a worker with the task.
-- The delays are the retry policy's (lib/worker/retry-policy.ts: one copy of the formula); the
-- worker sends them as a schedule, indexed here by the record's `deferred` count.
-- Order: reads, a write that takes no memory (PERSIST on the stream: a full Redis still lets
-- jobs be left), the re-adds and parks, and the acknowledgements and deletes last, so that a
-- script error half-way leaves the entries pending (claimed later), never acknowledged with
-- the job nowhere. The re-added entry carries `n + deliveries - 1`: the runs abandoned before
-- a claim are in the record's history, and the next run must not reuse their numbers.
--
-- KEYS[1] stream  KEYS[2] delayed  KEYS[3] tasks (hash)
-- ARGV[1] record prefix  ARGV[2] parked prefix  ARGV[3] group  ARGV[4] consumer
-- ARGV[5] result prefix
-- ARGV[6] deferral delays in ms, comma-separated: the first for a job's first deferral, the
--   last for every one after the list (e.g. '0,50,100,200,400,800,1000', jittered)
-- ARGV[7] the shard's id suffix (keys.ts idSuffix: '' for one shard, `:<s>` of N > 1)
-- ARGV[8..] triples: entry id, job id ('' = the entry's i, else the entry id and the suffix:
--   an auto id), task
-- An id that names no job (an `i` claim.lua would bury) builds no key: the entry is re-added as
-- it is ('deferred'), and the worker that reads it buries it.
-- Returns: per entry 'deferred', 'parked', 'done' (the job has an outcome already: a duplicate
-- entry, acknowledged and deleted), 'gone' (not pending on this consumer: left alone), or
-- 'unusable' (its record key holds another type: left pending, for the worker to bury).
--- @include wrongtype
--- @include clock
--- @include readd
--- @include alive
local wrong = wrong_type({ KEYS[1], 'stream', KEYS[2], 'zset', KEYS[3], 'hash' })
if wrong then return wrong end
local jprefix, pprefix, group, me, rprefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local schedule = {}
for ms in string.gmatch(ARGV[6], '%d+') do schedule[#schedule + 1] = tonumber(ms) end
local now = clock_ms()
local out = {}

-- Per task, read once per call: whether a live worker has it. The tasks that had jobs parked
-- (by name, and in order).
local alive_tasks, parked, parked_tasks = {}, {}, {}

local function alive(task)
  if alive_tasks[task] ~= nil then return alive_tasks[task] end
  -- A parked set of the wrong type (rare path: checked here, not per batch) would fail the
  -- script: the job is deferred instead, and comes back until someone repairs the key.
  local t = redis.call('TYPE', pprefix .. task).ok
  local until_ms = alive_until(redis.call('HGET', KEYS[3], 'alive_until:' .. task), now)
  alive_tasks[task] = (t ~= 'none' and t ~= 'zset') or (until_ms ~= nil and until_ms >= now)
  return alive_tasks[task]
end

local function leave(id, task, f, attempts, runs)
  -- A record of another type cannot hold a waiting job. Re-added as it is, the entry came
  -- straight back to a worker without its task, for ever (R-193): 'unusable', kept pending for
  -- the worker to bury (its letter keeps the job's fields, for a requeue once the key is fixed).
  local t = redis.call('TYPE', jprefix .. id).ok
  if t ~= 'none' and t ~= 'hash' then return 'unusable' end
  -- The job waits on its record now: no TTL (a claim gives the record it makes one).
  local key = waiting_record(KEYS[1], jprefix, id, f, attempts, runs)
  if not key then return 'deferred' end -- record unusable: back at once, nothing else written
  if not alive(task) then
    redis.call('HSET', key, 'status', 'queued', 'waiting_for', task,
      unpack(record_fields(f, attempts, runs)))
    redis.call('ZADD', pprefix .. task, now, id)
    if not parked[task] then
      parked[task] = true
      parked_tasks[#parked_tasks + 1] = task
    end
    return 'parked'
  end
  local n = count(redis.call('HGET', key, 'deferred')) or 0
  local delay = schedule[math.min(n + 1, #schedule)] or 0
  if delay == 0 then
    local e = readd(KEYS[1], id, f, attempts, runs)
    redis.call('HSET', key, 'status', 'queued', 'e', e, 'deferred', n + 1, 'n', runs)
  else
    redis.call('HSET', key, 'status', 'queued', 'deferred', n + 1,
      unpack(record_fields(f, attempts, runs)))
    redis.call('ZADD', KEYS[2], now + delay, id)
  end
  return 'deferred'
end

local acks = {}
redis.call('PERSIST', KEYS[1]) -- the write that takes no memory (see above)
-- This delivery did not run: not counted (include/readd.lua, unrun); an id that names no job
-- comes back as it is ('deferred').
local g = { stream = KEYS[1], group = group, me = me, acks = acks, rprefix = rprefix,
  bad = 'deferred' }
for i = 8, #ARGV, 3 do
  local entry, task = ARGV[i], ARGV[i + 2]
  local v = give_back(g, entry,
    function(f) return ARGV[i + 1] ~= '' and ARGV[i + 1] or f.i or entry .. ARGV[7] end,
    function(id, f, attempts, runs) return leave(id, task, f, attempts, runs) end)
  -- Kept pending: give_back listed it last among the acknowledgements.
  if v == 'unusable' then acks[#acks] = nil end
  out[#out + 1] = v
end
-- The count is the parked set's size, set (not added): a corrupt field cannot fail the call.
for _, task in ipairs(parked_tasks) do
  redis.call('HSET', KEYS[3], 'parked:' .. task, redis.call('ZCARD', pprefix .. task))
end
ack_and_delete(KEYS[1], group, acks)
return out
