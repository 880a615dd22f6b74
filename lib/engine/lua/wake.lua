-- Jobs woken for a free running slot of their limit key (docs/internals.md, "Rate limits";
-- limit-done.lua names them): each moves from its level's delayed set to its stream now, as
-- promote.lua moves a due job (ZREM before XADD: two wakes never add it twice). A job not in
-- its delayed set (its worker is still giving its slot away: hold.lua) gets a marker, for a
-- minute, that makes the hold send it back at once. One that ended (it has an outcome: finished,
-- failed, canceled) is named in the reply: its worker drops it from the waiting list and wakes
-- the next in its place (limit-done.lua; a cancel cannot: the list is under the queue's tag).
--
-- KEYS[1..3] delayed (normal, high, low)  KEYS[4..6] stream (normal, high, low), one shard's
-- ARGV[1] record prefix  ARGV[2] woken-marker prefix  ARGV[3] result prefix  ARGV[4..] job ids
-- Returns: { the number of jobs moved to a stream, { ids of the jobs that ended } }.
--- @include readd
local levels = { high = 2, low = 3 }
local moved, ended = 0, {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local key = ARGV[1] .. id
  local ok, flat = pcall(redis.call, 'HGETALL', key)
  local f = ok and to_map(flat) or {}
  local at = levels[f.priority or ''] or 1
  if redis.call('ZREM', KEYS[at], id) == 1 then
    if f.status == 'retrying' or f.status == 'queued' then
      local entry = readd(KEYS[at + 3], id, f, f.a, f.n)
      redis.call('HSET', key, 'status', 'queued', 'e', entry)
      moved = moved + 1
    else
      ended[#ended + 1] = id
    end
  elseif redis.call('TYPE', ARGV[3] .. id).ok == 'string' then
    ended[#ended + 1] = id
  else
    redis.call('SET', ARGV[2] .. id, '1', 'PX', 60000)
  end
end
return { moved, ended }
