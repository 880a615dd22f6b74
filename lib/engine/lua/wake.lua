-- Jobs woken for a free running slot of their limit key (docs/internals.md, "Rate limits";
-- limit-done.lua names them): each moves from its level's delayed set to its stream now, as
-- promote.lua moves a due job (ZREM before XADD: two wakes never add it twice). A job not in
-- its delayed set (its worker is still giving its slot away: hold.lua) gets a marker, for a
-- minute, that makes the hold send it back at once; one that ended or runs is left alone.
--
-- KEYS[1..3] delayed (normal, high, low)  KEYS[4..6] stream (normal, high, low), one shard's
-- ARGV[1] record prefix  ARGV[2] woken-marker prefix  ARGV[3..] job ids
-- Returns: the number of jobs moved to a stream.
--- @include readd
local levels = { high = 2, low = 3 }
local moved = 0
for i = 3, #ARGV do
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
    end
  elseif f.status ~= 'finished' then
    redis.call('SET', ARGV[2] .. id, '1', 'PX', 60000)
  end
end
return moved
