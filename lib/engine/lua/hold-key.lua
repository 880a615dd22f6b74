-- Hold a limit key (docs/internals.md, "Rate limits"): no job of the key starts before the hold
-- ends (a host answered 429 or 503 with Retry-After). Holds only lengthen: a shorter hold over a
-- longer one changes nothing. The layout key's `holds` keeps the latest hold's end, so workers
-- (lib/worker/pause.ts reads it with the pause) check keys while a hold may be on, and queues
-- that never hold a key cost nothing per job.
--
-- A key of another type is refused by name before any write (`ERR courier: key … holds a …`,
-- nothing written): the held keys' list and the layout key are queue-wide, and a WRONGTYPE
-- raised at them half-way left a hold written in the key's hash but neither listed nor
-- announced to the workers. The key's own hash is one user's, and the call is about it alone.
--
-- KEYS[1] the key's hash (limit:key:<key>)  KEYS[2] held keys (zset)  KEYS[3] layout (hash)
-- ARGV[1] the key's name  ARGV[2] hold ms (from Redis' TIME)
-- Returns: the hold's end (Redis' ms).
--- @include wrongtype
--- @include clock
local wrong = wrong_type({ KEYS[1], 'hash', KEYS[2], 'zset', KEYS[3], 'hash' })
if wrong then return wrong end
local until_ms = clock_ms() + tonumber(ARGV[2])
-- A held_until no hold can pass (a hand edit: `inf`, `1e400`, past 2^53) is no hold: answered
-- as it was, Redis made it -2^63 (its integer reply), so the job came back at once, unlisted.
local held = tonumber(redis.call('HGET', KEYS[1], 'held_until')) or 0
if held ~= held or held >= 2 ^ 53 then held = 0 end
if held >= until_ms then return held end
redis.call('HSET', KEYS[1], 'held_until', until_ms)
-- The key's hash lives a minute past its last use (limit.lua keeps it so too), never less.
local ttl = redis.call('PTTL', KEYS[1])
local want = until_ms + 60000 - clock_ms()
if ttl == -1 or ttl < want then redis.call('PEXPIRE', KEYS[1], want) end
local listed = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1])) or 0
if listed < until_ms then redis.call('ZADD', KEYS[2], until_ms, ARGV[1]) end
local holds = tonumber(redis.call('HGET', KEYS[3], 'holds')) or 0
if holds < until_ms then redis.call('HSET', KEYS[3], 'holds', until_ms) end
return until_ms
