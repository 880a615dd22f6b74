-- A worker says which tasks it has (each heartbeat), and takes back to the stream the jobs
-- parked for them: jobs a worker without their task took while no live worker had it (see
-- start-7.lua). One script, so a job is never parked after the worker that has its task said
-- so and before it looked for parked jobs: the start either sees that worker, or parks the job
-- before this runs.
--
-- KEYS[1] tasks (hash: alive_until:<task>, parked:<task>)   KEYS[2] stream
-- ARGV[1] parked key prefix   ARGV[2] job key prefix
-- ARGV[3] most jobs moved per task and call
-- ARGV[4] how long the worker counts as live after this beat (ms: six of its own heartbeats,
--   as long as its record lives)   ARGV[5..] the worker's tasks
-- `alive_until:<task>` = Redis' time plus ARGV[4], the latest any worker that has the task gave
-- (a worker with a short interval does not cut short one with a long interval); start-7.lua
-- compares it with Redis' time too.
-- Returns: {jobs moved, most jobs taken from one task's parked set}; the latter equal to
-- ARGV[3] means there may be more, and the caller calls again.
-- Or an error reply `ERR courier: key … holds a …` when a key it writes (the parked sets too)
-- holds the wrong type, with nothing written (wrong_type, include/wrongtype.lua): a WRONGTYPE from the
-- XADD would come after the ZPOPMIN, losing the jobs popped.
--- @include clock
--- @include wrongtype
local expected = { KEYS[1], 'hash', KEYS[2], 'stream' }
for i = 5, #ARGV do
  expected[#expected + 1] = ARGV[1] .. ARGV[i]; expected[#expected + 1] = 'zset'
end
local wrong = wrong_type(expected)
if wrong then return wrong end
-- A write that takes no memory first: Redis checks maxmemory only before a script's first
-- write, so a full Redis still takes the heartbeat's few fields (as heartbeat-2.lua does).
redis.call('PERSIST', KEYS[2])
local most, now = tonumber(ARGV[3]), clock_ms()
local alive_until = now + tonumber(ARGV[4])
local moved, fullest = 0, 0
for i = 5, #ARGV do
  local task = ARGV[i]
  local field = 'alive_until:' .. task
  if (tonumber(redis.call('HGET', KEYS[1], field)) or 0) < alive_until then
    redis.call('HSET', KEYS[1], field, alive_until)
  end
  local parked = ARGV[1] .. task
  local popped = redis.call('ZPOPMIN', parked, most)
  for j = 1, #popped, 2 do
    local id = popped[j]
    local key = ARGV[2] .. id
    -- A key that is not a hash goes back too: the start settles it with a logged reason.
    local ok, status = pcall(redis.call, 'HGET', key, 'status')
    if ok and status == 'queued' then redis.call('HDEL', key, 'waiting_for') end
    -- A record gone (expired, deleted) or ended meanwhile has nothing left to run.
    if not ok or status == 'queued' then
      redis.call('XADD', KEYS[2], '*', 'id', id)
      moved = moved + 1
    end
  end
  fullest = math.max(fullest, #popped / 2)
  local left = redis.call('ZCARD', parked)
  if left == 0 then
    redis.call('HDEL', KEYS[1], 'parked:' .. task)
  elseif #popped > 0 then
    redis.call('HSET', KEYS[1], 'parked:' .. task, left)
  end
end
return { moved, fullest }
