-- A key rate changed (docs/internals.md, "Rate limits"): the jobs held back by their key's rate
-- were given due times spaced by the old rate, so they are all named here for their workers'
-- shards to wake now (wake.lua), and each key's schedule of held jobs starts again (hold_next).
-- Under the queue's tag; a page per call (the caller loops): at most ARGV[4] held keys, and at
-- most ARGV[5] members in all, however many jobs one key holds back (a key's held set grows
-- with its backlog: one member per job held, see limit.lua). The members named leave their
-- set (ZREMRANGEBYRANK: the same ranks read); a key with members left is where the next call
-- starts. hold_next goes with each page: a job held between two pages starts a fresh
-- schedule and is woken by the next page, which only makes it ask the limiter again.
--
-- KEYS[1] held keys (zset: `limit:keys`)
-- ARGV[1] rate-held prefix  ARGV[2] key hash prefix  ARGV[3] first index  ARGV[4] page size
-- ARGV[5] most members per call
-- Returns { next index (-1: done), then the members `<shard>|<job id>` taken }.
local from, size, most = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local keys = redis.call('ZRANGE', KEYS[1], from, from + size - 1)
local out = { #keys < size and -1 or from + size }
for i, key in ipairs(keys) do
  local left = most - (#out - 1)
  local rheld = ARGV[1] .. key
  local got = redis.call('ZRANGE', rheld, 0, left - 1)
  for _, m in ipairs(got) do out[#out + 1] = m end
  if #got > 0 then redis.call('ZREMRANGEBYRANK', rheld, 0, #got - 1) end
  redis.call('HDEL', ARGV[2] .. key, 'hold_next')
  -- The page is full: this key (maybe emptied by now) is where the next call starts.
  if #got == left then out[1] = from + i - 1; return out end
end
return out
