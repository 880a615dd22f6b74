-- Claims a worker name for a starting worker: its hash, unless a live worker already holds it.
-- A worker's hash expires when its heartbeats stop (lib/worker/presence.ts), so a name held by a
-- worker that died frees itself; one read and one write in one script, so two workers
-- starting at once with the same name cannot both get it.
--
-- KEYS[1]  the worker's hash (courier:{q}:worker:<name>)
-- ARGV[1]  host   ARGV[2]  pid   ARGV[3]  time to live, ms
-- ARGV[4]  this start's token (random, one per Worker.start): kept as `start`, so that a process
--          whose name was taken by a later start while it was stalled (its hash expired) finds
--          out at its next heartbeat or own read (heartbeat.lua, claim.lua) and stops reading
--
-- Returns: {} when the name is now ours; { host, pid, ms since its last heartbeat (Redis' clock,
-- false when unknown) } of the worker holding it.
--- @include clock
local now = clock_ms()
if redis.call('EXISTS', KEYS[1]) == 1 then
  local f = redis.call('HMGET', KEYS[1], 'host', 'pid', 'seen_at')
  local seen = tonumber(f[3])
  return { f[1], f[2], seen and math.max(0, now - seen) or false }
end
-- A PEXPIRE (of nothing: the key does not exist) first: Redis checks maxmemory only before a
-- script's first write, and PEXPIRE is allowed on a full Redis, so the name is claimed there too
-- (a worker must start on a full Redis to drain it).
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[1], 'host', ARGV[1], 'pid', ARGV[2], 'seen_at', now, 'start', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {}
