-- Release what a stopping worker could not finish, so other workers get it at once instead
-- of after claimIdleMs: each entry this consumer still has pending is replaced by a fresh
-- entry for the same job, its status goes back to 'queued', and the unfinished start is not
-- counted as an attempt (the job did not fail; its worker was asked to stop).
--
-- KEYS[1] stream
-- ARGV[1] job key prefix   ARGV[2] group   ARGV[3] consumer   ARGV[4] most entries
-- ARGV[5] the worker's boot id (start-7.lua): its attempts are the ones started with it
-- Leaves the group (XGROUP DELCONSUMER) once the consumer holds nothing pending.
-- Returns: {jobs released, pending entries handled}; handled = ARGV[4] means there may be
-- more, and the caller calls again.
local prefix, group, consumer, boot = ARGV[1], ARGV[2], ARGV[3], ARGV[5]
local pending = redis.call('XPENDING', KEYS[1], group, '-', '+', ARGV[4], consumer)
local released = 0
for _, p in ipairs(pending) do
  local entry = p[1]
  local e = redis.call('XRANGE', KEYS[1], entry, entry)
  -- Acknowledge and delete first: that takes no memory, and Redis checks maxmemory only before
  -- a script's first write, so a full Redis still lets the job be released.
  redis.call('XACK', KEYS[1], group, entry)
  redis.call('XDEL', KEYS[1], entry)
  local id = nil
  if e[1] then
    local fields = e[1][2]
    for j = 1, #fields - 1, 2 do
      if fields[j] == 'id' then id = fields[j + 1] end
    end
  end
  if id then
    local key = prefix .. id
    -- Under pcall: a job key that is not a hash is given back as it is; the start script
    -- that reads it next settles it.
    local ok, status = pcall(redis.call, 'HGET', key, 'status')
    if not ok then
      redis.call('XADD', KEYS[1], '*', 'id', id)
    elseif status == 'started' or status == 'queued' then
      local f = redis.call('HMGET', key, 'attempt', 'boot')
      -- Only an attempt this worker process started (its boot id, start-7.lua) is given back;
      -- an entry it holds without having started it (a claim or read that landed as it
      -- stopped) has used no attempt of its own, nor has one its crashed predecessor under the
      -- same name started.
      if status == 'started' and f[2] == boot then
        local attempt = tonumber(f[1]) or 0
        if attempt > 0 then redis.call('HSET', key, 'attempt', attempt - 1) end
      end
      redis.call('HSET', key, 'status', 'queued')
      redis.call('HDEL', key, 'worker', 'boot')
      redis.call('XADD', KEYS[1], '*', 'id', id)
      released = released + 1
    end
  end
end
-- Leave the group only with nothing pending: deleting a consumer drops its pending entries,
-- and no one could claim them. (More than ARGV[4] entries: the caller calls again.)
if #pending < tonumber(ARGV[4]) then
  local left = redis.call('XPENDING', KEYS[1], group, '-', '+', 1, consumer)
  if #left == 0 then redis.call('XGROUP', 'DELCONSUMER', KEYS[1], group, consumer) end
end
return { released, #pending }
