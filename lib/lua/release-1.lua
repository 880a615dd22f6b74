-- Release what a stopping worker could not finish, so other workers get it at once instead
-- of after claimIdleMs: each entry this consumer still has pending is replaced by a fresh
-- entry for the same job, its status goes back to 'queued', and the unfinished start is not
-- counted as an attempt (the job did not fail; its worker was asked to stop).
--
-- KEYS[1] stream
-- ARGV[1] job key prefix   ARGV[2] group   ARGV[3] consumer   ARGV[4] most entries
-- Returns: number of jobs released.
local prefix, group, consumer = ARGV[1], ARGV[2], ARGV[3]
local pending = redis.call('XPENDING', KEYS[1], group, '-', '+', ARGV[4], consumer)
local released = 0
for _, p in ipairs(pending) do
  local entry = p[1]
  local e = redis.call('XRANGE', KEYS[1], entry, entry)
  local id = nil
  if e[1] then
    local fields = e[1][2]
    for j = 1, #fields - 1, 2 do
      if fields[j] == 'id' then id = fields[j + 1] end
    end
  end
  if id then
    local key = prefix .. id
    local status = redis.call('HGET', key, 'status')
    if status == 'started' or status == 'queued' then
      local attempt = tonumber(redis.call('HGET', key, 'attempt')) or 0
      if attempt > 0 then redis.call('HSET', key, 'attempt', attempt - 1) end
      redis.call('HSET', key, 'status', 'queued')
      redis.call('HDEL', key, 'worker')
      redis.call('XADD', KEYS[1], '*', 'id', id)
      released = released + 1
    end
  end
  redis.call('XACK', KEYS[1], group, entry)
  redis.call('XDEL', KEYS[1], entry)
end
return released
