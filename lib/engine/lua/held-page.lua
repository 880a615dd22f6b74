-- A page of the held keys (`limit:keys`) for a key concurrency change's wake (docs/internals.md,
-- "Rate limits"; lib/engine/key-wake.ts). Read only. The list changes between pages: each
-- limit.lua call drops the listings whose time passed, a key whose last waiter started leaves
-- it, a key held again moves later. So the place is a key and its score, not an index (an
-- index would skip as many keys as left before it): the page goes on after that key while it
-- still has that score, else after every key scored below it (keys of that very score are read
-- again: a wake frees only slots that are free, so a key read twice costs nothing). A key
-- listed meanwhile below the place is not read: a job of it was decided under the new setting.
--
-- KEYS[1] held keys (zset: limit:keys)
-- ARGV[1] place: key ('' first call)  ARGV[2] place: its score  ARGV[3] keys per page
-- Returns { more (1: call again from the place), place key, place score, then the keys }. Or
-- an error reply `ERR courier: key … holds a …` when KEYS[1] holds another type.
--- @include wrongtype
--- @include place
local refused = wrong_type({ KEYS[1], 'zset' })
if refused then return refused end
local at_key, at_score, size = ARGV[1], ARGV[2], tonumber(ARGV[3])
local start = after_place(KEYS[1], at_key, at_score)
local got = redis.call('ZRANGE', KEYS[1], start, start + size - 1, 'WITHSCORES')
local out = { #got < 2 * size and 0 or 1, at_key, at_score }
for i = 1, #got, 2 do
  out[#out + 1] = got[i]
  out[2], out[3] = got[i], got[i + 1]
end
return out
