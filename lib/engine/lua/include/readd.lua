-- Included (`--- @include readd`) by every script that re-adds a job to the stream from an
-- entry's or a record's fields, or reads or settles an entry given back unrun (claim, fail,
-- hold, leave, promote, serve, release, requeue, cancel, bury, ...: written once here), the
-- entry's fields read with include/fields.lua. Not a script of its own.

--- @include fields

-- The ms part of an auto id (the job's first entry id, with its shard's suffix `:<s>` on a
-- queue of N > 1 shards: Redis' clock when it was enqueued), or nil for a caller id (or a
-- delayed job's), whose record holds `q` from its enqueue.
local function auto_ms(id)
  return string.match(id, '^(%d+)%-%d+$') or string.match(id, '^(%d+)%-%d+:%d+$')
end

-- A record made for an auto-id job (by a retry, claim, deferral, release) keeps when the job
-- was enqueued, which its entry id said; a record already there keeps its own `q`.
local function keep_enqueued(key, id)
  local ms = auto_ms(id)
  if ms then redis.call('HSETNX', key, 'q', ms) end
end

-- Whether an entry's `i` may name a job's keys: 1 to 128 of [A-Za-z0-9_.:-], as
-- lib/engine/record.ts isValidJobId (Redis' Lua runs in the C locale: %w is ASCII only). An
-- `i` that may not (empty, huge, control characters, a brace, a space) names no key: claim
-- buries its entry, leave and release hand it back as it is (the reader's check buries it).
local function valid_id(id)
  return #id >= 1 and #id <= 128 and not string.find(id, '[^%w_.:%-]')
end

-- A whole number from 0 up, or nil (tonumber alone takes '0x1f', ' 2', 'nan', '1.5').
local function count(v)
  if v and #v > 0 and #v < 16 and not string.find(v, '%D') then return tonumber(v) end
end

-- The fields a re-added entry carries (docs/internals.md, "The stream entry"), in the order of a first entry:
-- t p a m, then i (the job id always differs from the new entry's id), n when runs were
-- recorded, o when set, k (the limit key) when set. A field missing from a corrupt record is
-- left out, so the worker's validation names it and buries the entry (a nil here would end the
-- script). `at`: the new entry's id, '*' (Redis picks the next) unless given.
local function readd(stream, id, f, attempts, runs, at)
  local args = { 'XADD', stream, at or '*' }
  local function put(name, v) if v then args[#args + 1] = name; args[#args + 1] = v end end
  put('t', f.t); put('p', f.p); put('a', attempts); put('m', f.m); put('i', id)
  if (tonumber(runs) or 0) > 0 then put('n', runs) end
  if f.o and f.o ~= '' then put('o', f.o) end
  if f.k and f.k ~= '' then put('k', f.k) end
  return redis.call(unpack(args))
end

-- Whether the job a script took out of a set (promote's delayed set, serve's parked one) to
-- re-add it has its outcome already: a stalled run, taken over, finished after the newer run
-- was retried or left (the first finisher's outcome wins). Re-added, it ran once more after it
-- had finished. Its record, which that finish did not know of (it expired none), then goes with
-- the outcome. TYPE and the first two bytes, not EXISTS: r:<id> of another type, or a string
-- that is no outcome (F, X or C, then its end's digits: lib/engine/outcome.ts), is no outcome:
-- the job runs, and its end dead-letters it as corrupt, as finish.lua judges it.
local function ended_meanwhile(result_key, record_key)
  if redis.call('TYPE', result_key).ok ~= 'string' then return false end
  if not string.find(redis.call('GETRANGE', result_key, 0, 1), '^[FXC]%d') then return false end
  local ttl = redis.call('PTTL', result_key)
  if ttl > 0 then redis.call('PEXPIRE', record_key, ttl) end
  return true
end

-- For a script that took a job out of a set (promote's delayed set, serve's parked one) before
-- re-adding it: `add()` under pcall, and when Redis refuses it (a stream with no ids left) the
-- job goes back into `set` at `score` and the call fails naming it, so a refused XADD never
-- loses a job taken out (Redis keeps what a script wrote before it failed). The entry id, or
-- nil and the error reply to return.
local function added_or_put_back(set, score, id, stream, add)
  local ok, e = pcall(add)
  if ok then return e end
  redis.call('ZADD', set, score, id)
  local why = type(e) == 'table' and e.err or tostring(e)
  return nil, redis.error_reply('ERR courier: stream ' .. stream .. ' refused job ' .. id ..
    ', left where it was: ' .. why)
end

-- The attempts an entry delivered `deliveries` times comes back with when its job is given
-- back unrun (leave, hold, give-back through unrun below; release.lua at a worker's stop):
-- `a + deliveries - 1`. The last delivery did not run (the job did not fail: its worker gave
-- it back or was asked to stop), so it is not counted; deliveries before it were runs a claim
-- recorded as abandoned. A malformed or missing `a` goes on as it is (nil when missing): the
-- worker that reads the entry buries it.
local function unrun_attempts(f, deliveries)
  local a = count(f.a)
  return a and (a + deliveries - 1) or f.a
end

-- An entry pending on consumer `me` that a script gives back unrun (leave.lua, hold.lua):
-- `mine` whether it is pending on `me` (then the caller acknowledges it), and, while its
-- fields are readable, `{ f, attempts, runs, bytes }` it comes back with (unrun_attempts; ''
-- for a missing `a`: the reader's validation buries the entry; bytes: flat_bytes).
local function unrun(stream, group, me, entry)
  local p = redis.call('XPENDING', stream, group, entry, entry, 1)[1]
  if not p or p[2] ~= me then return nil, false end
  local f, bytes = entry_at(stream, entry, true)
  if not f then return nil, true end
  local attempts = unrun_attempts(f, p[4]) or ''
  return { f = f, attempts = attempts, runs = (count(f.n) or 0) + p[4] - 1, bytes = bytes }, true
end

-- The record a job given back unrun waits on (leave.lua, hold.lua): its key, with the job's
-- enqueue time kept and no TTL (the job waits on it); or nil when the key holds another type:
-- the job is then back in the stream at once and nothing else is written.
local function waiting_record(stream, jprefix, id, f, attempts, runs)
  local key = jprefix .. id
  local t = redis.call('TYPE', key).ok
  if t ~= 'none' and t ~= 'hash' then
    readd(stream, id, f, attempts, runs)
    return nil
  end
  keep_enqueued(key, id)
  redis.call('PERSIST', key)
  return key
end

-- One entry a script gives back unrun (leave.lua, hold.lua), settled as far as they agree:
-- 'gone' (not pending on `me`, or its fields unreadable), `bad` (its id names no job: no key
-- is built from it, the entry comes back as it is and the worker that reads it buries it),
-- 'done' (the job has an outcome: only acknowledged; TYPE, not EXISTS: r:<id> of another type
-- is no outcome, and acknowledging it would lose the job); else what `act(id, f, attempts,
-- runs)` answers. The entry goes into `acks` when it was pending on `me`: the caller
-- acknowledges them all last (ack_and_delete). Its bytes read are added to `g.bytes`.
local function give_back(g, entry, id_of, act)
  local u, mine = unrun(g.stream, g.group, g.me, entry)
  if mine then g.acks[#g.acks + 1] = entry end
  if not u then return 'gone' end
  g.bytes = (g.bytes or 0) + u.bytes
  local id = id_of(u.f)
  if not valid_id(id) then
    readd(g.stream, id, u.f, u.attempts, u.runs)
    return g.bad
  end
  if redis.call('TYPE', g.rprefix .. id).ok == 'string' then return 'done' end
  return act(id, u.f, u.attempts, u.runs)
end

-- The other half of re-adding: the old entries acknowledged and deleted, one variadic XACK and
-- one XDEL per call (in chunks well under Lua's unpack() limit). Called last, once every job is
-- back, so a script error before it leaves the entries pending (claimed later), never lost.
local function ack_and_delete(stream, group, entries)
  for i = 1, #entries, 1000 do
    local last = math.min(i + 999, #entries)
    redis.call('XACK', stream, group, unpack(entries, i, last))
    redis.call('XDEL', stream, unpack(entries, i, last))
  end
end

-- The fields of a record that hold a job waiting outside the stream (delayed, parked): the
-- entry's own fields, so promote and serve can re-add it without the entry.
local function record_fields(f, attempts, runs)
  -- '' for a missing field (never nil: it would end the script half-way); the entry made from
  -- the record later carries it, and the worker's validation buries that entry.
  local out = { 't', f.t or '', 'p', f.p or '', 'a', attempts or '', 'm', f.m or '',
    'n', runs or 0 }
  if f.o and f.o ~= '' then out[#out + 1] = 'o'; out[#out + 1] = f.o end
  if f.k and f.k ~= '' then out[#out + 1] = 'k'; out[#out + 1] = f.k end
  return out
end
