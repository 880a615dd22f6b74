-- One page of building the per-queue `names` index (docs/internals.md, "Recurring schedules")
-- from `where`, for schedules saved before schedule-save.lua kept it: HSCAN a page of `where`,
-- each name into its queue's `names` zset (score 0; adding one already there changes nothing).
-- The caller carries the cursor, a page a call, so no call reads every schedule; once a scan
-- ends, `indexed` says the index is whole, and nothing builds it again. A schedule saved,
-- moved or removed meanwhile is kept right by schedule-save.lua, and a page reads `where` as
-- it is now, so the build never puts a name back under a queue it left.
--
-- KEYS[1] where (hash name -> queue)  KEYS[2] indexed (string)
-- ARGV[1] the HSCAN cursor ('0' to start)  ARGV[2] names per page (COUNT)
-- ARGV[3] what a queue's `names` key starts with (the queue is appended; same tag)
-- Returns the next cursor: '0' when the scan is over (and `indexed` set).
local page = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', tonumber(ARGV[2]))
local found = page[2]
for i = 1, #found, 2 do
  redis.call('ZADD', ARGV[3] .. found[i + 1], 0, found[i])
end
if page[1] == '0' then redis.call('SET', KEYS[2], '1') end
return page[1]
