-- A key rate changed (docs/internals.md, "Rate limits"): the jobs held back by their key's rate
-- were given due times spaced by the old rate, so they are all named here for their workers'
-- shards to wake now (wake.lua), and each key's schedule of held jobs starts again (hold_next).
-- Under the queue's tag; a page of held keys per call (the caller loops).
--
-- KEYS[1] held keys (zset: `limit:keys`)
-- ARGV[1] rate-held prefix  ARGV[2] key hash prefix  ARGV[3] first index  ARGV[4] page size
-- Returns { next index (-1: done), then the members `<shard>|<job id>` taken }.
local from, size = tonumber(ARGV[3]), tonumber(ARGV[4])
local keys = redis.call('ZRANGE', KEYS[1], from, from + size - 1)
local out = { #keys < size and -1 or from + size }
for _, key in ipairs(keys) do
  local rheld = ARGV[1] .. key
  for _, m in ipairs(redis.call('ZRANGE', rheld, 0, -1)) do out[#out + 1] = m end
  redis.call('DEL', rheld)
  redis.call('HDEL', ARGV[2] .. key, 'hold_next')
end
return out
