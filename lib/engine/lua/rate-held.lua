-- A key rate changed (docs/internals.md, "Rate limits"): the jobs held back by their key's rate
-- were given due times spaced by the old rate, so they are all named here for their workers'
-- shards to wake now (wake.lua), and each key's schedule of held jobs starts again (hold_next).
-- Under the queue's tag; a page per call (the caller loops): at most ARGV[7] held keys looked
-- at, and at most ARGV[8] members in all, however many jobs one key holds back (a key's held
-- set grows with its backlog: one member per job held, see limit.lua).
-- Each key's wake is a snapshot: its first visit renames its set to its waking copy, which the
-- pages go through (ZREMRANGEBYRANK: the ranks read). Jobs held after that (those woken and
-- held again, by the old tat, before the rest) go to a fresh set this wake leaves alone.
-- The place is kept as the key's name and score (limit:keys loses listings whose time passed
-- between calls, so an index could skip a key): the next call finishes that key's copy, then
-- goes on after it, or, when it left the list, from its score. Keys are marked with the wake
-- (`woke` in their hash): one whose score rose past the place is not visited twice.
-- A wake that stops between pages (its caller died) leaves the copy: the next wake's visit adds
-- the key's fresh set to it and names both. Not visited again (the key left the list: every
-- job it held is past its due time, back already), it goes with its TTL.
--
-- KEYS[1] held keys (zset: `limit:keys`)
-- ARGV[1] rate-held prefix  ARGV[2] key hash prefix  ARGV[3] waking prefix  ARGV[4] this
-- wake's token  ARGV[5] place: key ('' first call)  ARGV[6] place: its score  ARGV[7] keys per
-- call  ARGV[8] most members per call
-- Returns { more (1: call again from the place), place key, place score, then the members
-- `<shard>|<job id>` taken }.
local rprefix, hprefix, wprefix, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local at_key, at_score = ARGV[5], ARGV[6]
local size, most = tonumber(ARGV[7]), tonumber(ARGV[8])
local out = { 1, at_key, at_score }

-- Takes what the page has room for from a key's waking copy; true when the page is full.
-- pcall: a copy of another type (a hand edit) names no job.
local function take(key)
  local waking = wprefix .. key
  local ok, got = pcall(redis.call, 'ZRANGE', waking, 0, most - (#out - 3) - 1)
  if ok and #got > 0 then
    for _, m in ipairs(got) do out[#out + 1] = m end
    redis.call('ZREMRANGEBYRANK', waking, 0, #got - 1)
  end
  return #out - 3 >= most
end

-- A key's first visit in this wake: its held set becomes its waking copy (a copy a stopped wake
-- left gets the set added, and the longer TTL of the two).
local function snapshot(key)
  local rheld, waking = rprefix .. key, wprefix .. key
  if redis.call('EXISTS', rheld) == 0 then return end
  if redis.call('EXISTS', waking) == 0 then return redis.call('RENAME', rheld, waking) end
  local ttl = math.max(redis.call('PTTL', rheld), redis.call('PTTL', waking))
  if pcall(redis.call, 'ZUNIONSTORE', waking, 2, waking, rheld) then
    redis.call('DEL', rheld)
    if ttl > 0 then redis.call('PEXPIRE', waking, ttl) end
  end
end

local start = 0
if at_key ~= '' then
  if take(at_key) then return out end
  local score = redis.call('ZSCORE', KEYS[1], at_key)
  if score and tonumber(score) == tonumber(at_score) then
    start = redis.call('ZRANK', KEYS[1], at_key) + 1
  else
    start = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. at_score)
  end
end
local keys = redis.call('ZRANGE', KEYS[1], start, start + size - 1, 'WITHSCORES')
for i = 1, #keys, 2 do
  local key, khash = keys[i], hprefix .. keys[i]
  out[2], out[3] = key, keys[i + 1]
  if redis.call('HGET', khash, 'woke') ~= token then
    if redis.call('EXISTS', khash) == 1 then redis.call('HSET', khash, 'woke', token) end
    redis.call('HDEL', khash, 'hold_next')
    snapshot(key)
    if take(key) then return out end
  end
end
if #keys < 2 * size then out[1] = 0 end
return out
