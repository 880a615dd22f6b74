-- A worker says which tasks it has (every heartbeat) and takes back to the stream
-- the jobs parked for them (docs/internals.md, "3. Start"). `alive_until:<task>` in the tasks hash is
-- Redis' TIME + the alive window the worker sends (6 x its heartbeat interval), or the later
-- value another worker set: a worker's own clock never decides. One script, so a job is never
-- parked after a worker with its task said so and before it looked for parked jobs.
--
-- KEYS[1] tasks (hash: alive_until:<task>, parked:<task>)  KEYS[2] stream
-- ARGV[1] parked prefix  ARGV[2] record prefix  ARGV[3] alive window ms
-- ARGV[4] most jobs moved per task and call  ARGV[5] most record bytes read per call (the record
-- that crosses it included: records hold payloads, and a call copies them all, as promote.lua)
-- ARGV[6] result key prefix (a job that has its outcome already is not re-added:
--   include/readd.lua ended_meanwhile)  ARGV[7..] the worker's tasks
-- Returns: {jobs moved, tasks whose parked key holds another type, 1 when there may be more (a
-- task's set gave ARGV[4] jobs, or the bytes bound stopped the call with jobs left) else 0};
-- the caller then calls again. A parked key of another type is skipped (its task is still
-- marked alive, the other tasks served) and named in the second part, for the worker to log:
-- one corrupt key must not stop every heartbeat. Or an error reply `ERR courier: key … holds a …`
-- for the tasks hash or the stream (nothing written): a WRONGTYPE from the XADD would come after
-- the ZPOPMIN, losing the jobs popped.
--- @include wrongtype
--- @include clock
--- @include readd
--- @include alive
local wrong = wrong_type({ KEYS[1], 'hash', KEYS[2], 'stream' })
if wrong then return wrong end
-- A write that takes no memory first: a full Redis still takes the few fields of a heartbeat.
redis.call('PERSIST', KEYS[2])
local now = clock_ms()
local most, most_bytes = tonumber(ARGV[4]), tonumber(ARGV[5])
local moved, corrupt, more, bytes = 0, {}, 0, 0

-- A job popped from its task's parked set back to the stream: 1, or 0 when it has ended; or nil
-- and the error reply when the stream refuses it (it is back in `parked`: added_or_put_back).
local function back(id, parked, score)
  local key = ARGV[2] .. id
  local ok, flat = pcall(redis.call, 'HGETALL', key)
  if not ok then -- not a hash: goes back as it is, and the worker buries it with a reason
    local _, refused = added_or_put_back(parked, score, id, KEYS[2], function()
      return redis.call('XADD', KEYS[2], '*', 'i', id)
    end)
    if refused then return nil, refused end
    return 1
  end
  bytes = bytes + flat_bytes(flat)
  local f = to_map(flat)
  if f.status ~= 'queued' then return 0 end -- gone (expired, deleted) or ended meanwhile
  if ended_meanwhile(ARGV[6] .. id, key) then return 0 end
  local e, refused = added_or_put_back(parked, score, id, KEYS[2], function()
    return readd(KEYS[2], id, f, f.a, f.n)
  end)
  if refused then return nil, refused end
  redis.call('HSET', key, 'e', e)
  redis.call('HDEL', key, 'waiting_for')
  return 1
end

-- Moves up to `most` of a task's parked jobs, one at a time while under the bytes bound;
-- returns how many it took, or nil and the error reply of a job the stream refused.
local function take(parked)
  local taken = 0
  while taken < most and bytes < most_bytes do
    local popped = redis.call('ZPOPMIN', parked)
    if #popped == 0 then break end
    local n, refused = back(popped[1], parked, popped[2])
    if refused then return nil, refused end
    moved = moved + n
    taken = taken + 1
  end
  return taken
end

for i = 7, #ARGV do
  local task = ARGV[i]
  local field, want = 'alive_until:' .. task, now + tonumber(ARGV[3])
  local current = alive_until(redis.call('HGET', KEYS[1], field), now)
  if not current or current < want then redis.call('HSET', KEYS[1], field, want) end
  local parked = ARGV[1] .. task
  local t = redis.call('TYPE', parked).ok
  if t ~= 'none' and t ~= 'zset' then
    corrupt[#corrupt + 1] = task -- left as it is: leave.lua defers this task's jobs meanwhile
  else
    local taken, refused = take(parked)
    if refused then return refused end
    local left = redis.call('ZCARD', parked)
    if left > 0 and (taken == most or bytes >= most_bytes) then more = 1 end
    if left == 0 then
      redis.call('HDEL', KEYS[1], 'parked:' .. task)
    elseif taken > 0 then
      redis.call('HSET', KEYS[1], 'parked:' .. task, left)
    end
  end
end
return { moved, corrupt, more }
