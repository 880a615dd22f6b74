-- Recurring schedules (docs/internals.md, "Recurring schedules"): the due ones, read only. What
-- one pass of a scheduler (a worker's schedule loop, `schedule.ts run`) fires, on Redis' clock:
-- every host compares a tick with the same time. Each queue has its own `next` zset, so a
-- scheduler of some queues (a worker) reads theirs only: another queue's due schedules, however
-- many, never crowd out its own, and no definition is decoded here (the queue is the zset's).
-- A scheduler of every queue reads the queues of `queues` a page at a time (SSCAN, the cursor
-- carried by the caller), so no call walks every queue: 300,000 queues took 2-3 s in one call.
--
-- KEYS[1] defs (hash name -> JSON)  KEYS[2] queues (set)  KEYS[3] failing (hash)
-- ARGV[1] most due schedules returned  ARGV[2] what a queue's `next` key starts with
-- ARGV[3] the cursor into `queues` ('0' to start)  ARGV[4] queues per page (SSCAN COUNT)
-- ARGV[5..] the queues asked for (none: a page of `queues`, from the cursor)
-- Returns { now ms, { name, score ms, queue, definition JSON or false, failing or false, ... } of
--   the earliest due ones (score <= now), at most ARGV[1], the earliest future score of those
--   queues, or '' when none, { queues whose `next` key holds another type }, the next cursor
--   ('0': the scan of `queues` is over, or queues were asked for) }
--- @include clock
local now = clock_ms()
local most, prefix = tonumber(ARGV[1]), ARGV[2]
local queues, cursor = {}, '0'
for i = 5, #ARGV do queues[#queues + 1] = ARGV[i] end
if #queues == 0 then
  local page = redis.call('SSCAN', KEYS[2], ARGV[3], 'COUNT', tonumber(ARGV[4]))
  cursor, queues = page[1], page[2]
end

local found, earliest = {}, nil
-- A queue's `next` key of another type (corrupt) is skipped under pcall and named in the reply
-- (the scheduler warns): its schedules cannot fire, every other queue's still do.
local broken = {}
for _, queue in ipairs(queues) do
  local key = prefix .. queue
  -- Its earliest first: one read when nothing is due, the common case in a sweep of every queue.
  local ok, later = pcall(redis.call, 'ZRANGE', key, 0, 0, 'WITHSCORES')
  if ok then
    if later[2] and tonumber(later[2]) <= now then
      local seen = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'WITHSCORES', 'LIMIT', 0, most)
      for i = 1, #seen, 2 do
        found[#found + 1] = { seen[i], tonumber(seen[i + 1]), queue, seen[i + 1] }
      end
      later = redis.call('ZRANGEBYSCORE', key, '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    end
    if later[2] and (earliest == nil or tonumber(later[2]) < tonumber(earliest)) then
      earliest = later[2]
    end
  else
    broken[#broken + 1] = queue
  end
end
-- The most overdue first, across queues: each queue gave its `most` earliest.
table.sort(found, function(a, b) return a[2] < b[2] end)
local due = {}
for i = 1, math.min(most, #found) do
  local f = found[i]
  due[#due + 1] = f[1]; due[#due + 1] = f[4]; due[#due + 1] = f[3]
  due[#due + 1] = redis.call('HGET', KEYS[1], f[1])
  due[#due + 1] = redis.call('HGET', KEYS[3], f[1])
end
return { now, due, earliest or '', broken, cursor }
