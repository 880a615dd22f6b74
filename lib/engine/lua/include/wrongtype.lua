-- Include (`--- @include wrongtype`) of every script that writes queue-wide keys (enqueue,
-- finish, fail, bury, claim, leave, promote, serve, requeue, limit, limit-done, rate-held,
-- hold-key). Not a script of its own. limit.lua and limit-done.lua also check a limit key's own
-- keys with it, and settle only that key's jobs (docs/internals.md, "Rate limits"): one user's
-- key never fails the others' call.
--
-- An error reply naming the first queue-wide key that holds the wrong type of value (pairs of
-- key and type; a missing key is fine), or nil. Scripts check every queue-wide key they write,
-- once per batch, before their first write: a WRONGTYPE raised half-way would leave the batch
-- half done (Redis does not roll a script back: a job recorded but in no stream, delayed set or
-- dead letter, stuck for good). The worker reads the marker `courier: key`
-- (lib/worker/outcome-calls.ts refusedOverOneRecord) and retries an outcome batch with back-off,
-- acknowledging nothing; a refused read stops it (Worker.failure, lib/worker/worker-stop.ts); a
-- refused limiter call keeps its jobs, asking again (lib/worker/limited.ts); the CLI says it in
-- one line (lib/cli/refusal.ts).
-- Second reply: the types read, by key ('none' for a missing key), for a script that acts on
-- a key's absence (enqueue.lua writes the format when `meta` is missing) without another call.

-- `<key> holds a <type>, not a <type>`: the one wording of a key of another type, in the error
-- reply below and in what scripts keep of a job's or a limit key's own key (a dead letter's
-- `corrupt record: key …`, a limit key's `corrupt …`, a wake's unreadable hashes).
local function holds(key, t, want)
  return key .. ' holds a ' .. t .. ', not a ' .. want
end

-- The first key of `expected` that holds another type, said by holds(), or nil and the types
-- read: for a script that settles that key's jobs alone instead of refusing the call.
local function type_problem(expected)
  local seen = {}
  for i = 1, #expected, 2 do
    local t = redis.call('TYPE', expected[i]).ok
    if t ~= 'none' and t ~= expected[i + 1] then return holds(expected[i], t, expected[i + 1]) end
    seen[expected[i]] = t
  end
  return nil, seen
end

local function wrong_type(expected)
  local problem, seen = type_problem(expected)
  if problem then return redis.error_reply('ERR courier: key ' .. problem) end
  return nil, seen
end
