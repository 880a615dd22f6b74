-- A key rate changed (docs/internals.md, "Rate limits"): the jobs held back by their key's rate
-- were given due times spaced by the old rate, so they are all named here for their workers'
-- shards to wake now (wake.lua), and each key's schedule of held jobs starts again (hold_next).
-- Under the queue's tag; a page per call (the caller loops): at most ARGV[8] held keys looked
-- at, and at most ARGV[9] members in all, however many jobs one key holds back (a key's held
-- set grows with its backlog: one member per job held, see limit.lua).
-- Each key's wake is a snapshot: its first visit renames its set to its waking copy, which the
-- pages go through (ZREMRANGEBYRANK: the ranks read). Jobs held after that (those woken and
-- held again, by the key's next slot, before the rest) go to a fresh set this wake leaves alone.
-- A copy's member whose due time has passed is dropped unnamed: that job came back on its own,
-- and may wait in the delayed set for another reason now (a retry's back-off).
-- The place is kept as the key's name and score (limit:keys loses listings whose time passed
-- between calls, so an index could skip a key): the next call finishes that key's copy, then
-- goes on after it, or, when it left the list, from its score. Keys are marked with the wake's
-- token (`woke` in their hash; tokens rise: `wake_seq` in the layout hash): one whose score
-- rose past the place is not visited twice, nor by an older wake after a newer one.
-- A wake that stops between pages (its caller died) leaves the copy: the next wake's visit
-- adds the smaller of it and the key's set into the larger, a page per call (both grow with a
-- backlog), names nothing of the key until that is done, then renames the set to the copy.
-- Not visited again (the key left the list: every job it held is past its due time, back
-- already), it goes with its TTL.
--
-- KEYS[1] held keys (zset: `limit:keys`)  KEYS[2] layout (hash: `wake_seq`)
-- ARGV[1] rate-held prefix  ARGV[2] key hash prefix  ARGV[3] waking prefix  ARGV[4] this
-- wake's token ('' first call: one is drawn)  ARGV[5] place: key ('' first call)  ARGV[6]
-- place: its score  ARGV[7] place: '1' while its key's set and stale copy are being merged
--   ARGV[8] keys per call  ARGV[9] most members read per call (merged or taken)
-- A key whose hash holds another type (a hand edit, another program) is left as it is: its visit
-- is not marked nor its schedule reset, its held jobs are named all the same (they ask again:
-- limit.lua holds them as `corrupt` until the hash is deleted), and it is said in the reply.
--
-- Returns { more (1: call again from the place), place key, place score, token, merging,
-- { `<key hash> holds a <type>, not a hash` of each such key visited }, then the members
-- `<shard>|<job id>` taken }. Or an error reply `ERR courier: key … holds a …` when KEYS[1] or
-- KEYS[2] holds another type (nothing written: include/wrongtype.lua).
--- @include clock
--- @include wrongtype
--- @include place
local refused = wrong_type({ KEYS[1], 'zset', KEYS[2], 'hash' })
if refused then return refused end
local rprefix, hprefix, wprefix, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local at_key, at_score, merging = ARGV[5], ARGV[6], ARGV[7] == '1'
local size, budget = tonumber(ARGV[8]), tonumber(ARGV[9])
if token == '' then token = tostring(redis.call('HINCRBY', KEYS[2], 'wake_seq', 1)) end
local now = clock_ms()
local unreadable = {}
local out = { 1, at_key, at_score, token, '', unreadable }

-- A zset's size; a key of another type (a hand edit) counts as empty: it names no job, and the
-- key's set renamed to it replaces it.
local function zcard(k)
  local ok, n = pcall(redis.call, 'ZCARD', k)
  return ok and n or 0
end

-- A stale copy and the key's set both there: one is added into the other (the smaller into the
-- larger, a page of members per call; the set's score kept: its hold is the newer one) before
-- this wake names any job of the key, so none it names and that is held again meanwhile is
-- named twice. Then the set becomes the copy. True when the call's page is used up.
local function merge(key)
  local rheld, waking = rprefix .. key, wprefix .. key
  while budget > 0 do
    local nr, nw = zcard(rheld), zcard(waking)
    if nr == 0 then return false end
    if nw == 0 then
      redis.call('RENAME', rheld, waking)
      return false
    end
    local from, add = rheld, { 'ZADD', waking }
    if nw < nr then from, add = waking, { 'ZADD', rheld, 'NX' } end
    local base = #add
    local got = redis.call('ZRANGE', from, 0, math.min(budget, 500) - 1, 'WITHSCORES')
    for i = 1, #got, 2 do
      if tonumber(got[i + 1]) > now then add[#add + 1], add[#add + 2] = got[i + 1], got[i] end
    end
    if #add > base then redis.call(unpack(add)) end
    redis.call('ZREMRANGEBYRANK', from, 0, #got / 2 - 1)
    budget = budget - #got / 2
  end
  return true
end

-- Names what the page has room for from a key's waking copy: members still due later (one
-- past its due time came back on its own: dropped unnamed). True when the page is full.
local function take(key)
  if merging then
    if merge(key) then
      out[5] = '1'
      return true
    end
    merging = false
  end
  local waking = wprefix .. key
  if budget <= 0 then return true end
  local ok, got = pcall(redis.call, 'ZRANGE', waking, 0, budget - 1, 'WITHSCORES')
  if not ok then
    redis.call('DEL', waking)
    return false
  end
  for i = 1, #got, 2 do
    if tonumber(got[i + 1]) > now then out[#out + 1] = got[i] end
  end
  if #got > 0 then redis.call('ZREMRANGEBYRANK', waking, 0, #got / 2 - 1) end
  budget = budget - #got / 2
  return budget <= 0
end

-- A key's first visit in this wake: its held set becomes its waking copy, at once or, when a
-- stopped wake left a copy, by a merge first.
local function snapshot(key)
  local rheld, waking = rprefix .. key, wprefix .. key
  if zcard(rheld) == 0 then return end
  if zcard(waking) == 0 then return redis.call('RENAME', rheld, waking) end
  merging = true
end

-- A key's visit by this wake: marked with its token and its schedule of holds reset; false when
-- this wake (or a newer one) visited it already. A hash of another type is left as it is and
-- said (it cannot be marked: visited again, it names only what is held since, as any key).
local function visit(khash)
  local readable, woke = pcall(redis.call, 'HGET', khash, 'woke')
  if not readable then
    local t = redis.call('TYPE', khash).ok
    unreadable[#unreadable + 1] = holds(khash, t, 'hash')
    return true
  end
  if (tonumber(woke) or 0) >= tonumber(token) then return false end
  if redis.call('EXISTS', khash) == 1 then redis.call('HSET', khash, 'woke', token) end
  redis.call('HDEL', khash, 'hold_next')
  return true
end

if at_key ~= '' and take(at_key) then return out end
local start = after_place(KEYS[1], at_key, at_score)
local keys = redis.call('ZRANGE', KEYS[1], start, start + size - 1, 'WITHSCORES')
for i = 1, #keys, 2 do
  local key, khash = keys[i], hprefix .. keys[i]
  out[2], out[3] = key, keys[i + 1]
  if visit(khash) then
    snapshot(key)
    if take(key) then return out end
  end
end
if #keys < 2 * size then out[1] = 0 end
return out
