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
-- ARGV[5]  the process's pid namespace ('' when unknown)   ARGV[6]  its heartbeat interval, ms
--
-- Returns: {} when the name is now ours; { host, pid, ms since its last heartbeat (Redis' clock,
-- false when unknown), heartbeat interval (ms), pid namespace } of the worker holding it (the
-- last two false when the hash has none: an older Courier's).
--- @include clock
local now = clock_ms()
if redis.call('EXISTS', KEYS[1]) == 1 then
  local f = redis.call('HMGET', KEYS[1], 'host', 'pid', 'seen_at', 'beat_ms', 'pid_ns')
  local seen = tonumber(f[3])
  return { f[1], f[2], seen and math.max(0, now - seen) or false, tonumber(f[4]) or false, f[5] }
end
-- A PEXPIRE (of nothing: the key does not exist) first: Redis checks maxmemory only before a
-- script's first write, and PEXPIRE is allowed on a full Redis, so the name is claimed there too
-- (a worker must start on a full Redis to drain it).
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[1], 'host', ARGV[1], 'pid', ARGV[2], 'seen_at', now, 'start', ARGV[4],
  'pid_ns', ARGV[5], 'beat_ms', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {}
