-- Enqueue a batch of jobs (docs/internals.md, "1. Enqueue"): one XADD per job, the job in the entry, no
-- hash. Entry ids are consecutive: the first from '*', the k-th next `<ms>-<seq + k>` (each is
-- above the stream's top, the previous one, and nothing runs in between), so the reply carries
-- the first id only and the client derives the rest.
-- A batch sent again after a lost reply (same batch id) finds its receipt and returns the same
-- reply, adding nothing. Reads come first (receipt, key types, caller ids) and the first write
-- is an XADD or HSET, so a full Redis (maxmemory, noeviction: checked before a script's first
-- write) refuses the whole batch with nothing written.
-- A caller id (an idempotency key) costs its record as a marker: `e` entry, `q` enqueued ms;
-- an id that has a record is left alone (flag 0). A delayed job gets a record with the entry's
-- fields and waits in the delayed set, due at Redis' TIME + its delay; it has no entry yet.
--
-- The queue's data format is written with its first jobs, in the same call (meta.lua does it for
-- a worker): a separate call after this one would be lost with a lost reply, leaving jobs in a
-- queue with no format. It is written when `meta` is missing (its TYPE, read for the type check
-- anyway, says so: no call per batch once it exists). The producer checked the format at connect.
--
-- The reply also carries the events stream's last id (the cursor), read in the same call: no
-- event after it can be of a job this batch added, and every event of theirs comes after it, so
-- a waiter for these jobs can block on the events from there without first reading their state
-- (lib/queue/read.ts, waitForJobs).
--
-- KEYS[1] stream  KEYS[2] delayed (zset)  KEYS[3] stats (hash)  KEYS[4] receipt (string)
-- KEYS[5] meta (hash: format, created_at)  KEYS[6] events (stream; read only)
-- ARGV[1] record key prefix  ARGV[2] receipt TTL (ms)  ARGV[3] the format this Courier writes
-- ARGV[4..] sextuples: job id ('' = auto: the entry id), task, payload JSON, max attempts,
--   delay ms (0 = now; a delayed job always has an id), options JSON ('' = none)
-- Returns "<first entry id or empty> <flags> <cursor>", one flag per job: 1 created, 0 existed;
-- cursor `-` when no job was created or the events key is not a stream.
-- Or an error reply `ERR courier: key … holds a …` (nothing written: wrong_type, _wrongtype.lua).
--- @include wrongtype
--- @include counters
--- @include clock
-- The receipt first: a GET refused (WRONGTYPE) is the type check of that key, at no extra call.
local read, seen = pcall(redis.call, 'GET', KEYS[4])
if not read then return (wrong_type({ KEYS[4], 'string' })) end
if seen then return seen end
-- The delayed set is written only for a delayed job: checked only when the batch has one.
local expected = { KEYS[1], 'stream', KEYS[3], 'hash', KEYS[5], 'hash' }
for i = 8, #ARGV, 6 do
  if (tonumber(ARGV[i]) or 0) > 0 then
    expected[#expected + 1] = KEYS[2]; expected[#expected + 1] = 'zset'
    break
  end
end
local wrong, types = wrong_type(expected)
if wrong then return wrong end
local prefix = ARGV[1]
local first, ms, seq, now = '', nil, nil, nil
local flags, added = {}, 0

-- Adds the job's entry; returns its id.
local function add_entry(fields)
  if not ms then
    first = redis.call('XADD', KEYS[1], '*', unpack(fields))
    local m, s = string.match(first, '^(%d+)-(%d+)$')
    ms, seq = m, tonumber(s)
    return first
  end
  seq = seq + 1
  local entry = ms .. '-' .. seq
  redis.call('XADD', KEYS[1], entry, unpack(fields))
  return entry
end

for i = 4, #ARGV, 6 do
  local id, task, payload, max, delay, opts = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3],
    tonumber(ARGV[i + 4]) or 0, ARGV[i + 5]
  if ms and id == '' and delay == 0 and opts == '' then
    -- The common job, after the batch's first entry: its XADD and nothing else (no table
    -- built and unpacked per job: a third of the script's time per job, measured).
    seq = seq + 1
    redis.call('XADD', KEYS[1], ms .. '-' .. seq, 't', task, 'p', payload, 'a', '0', 'm', max)
    added = added + 1
    flags[#flags + 1] = '1'
  elseif id ~= '' and redis.call('EXISTS', prefix .. id) == 1 then
    flags[#flags + 1] = '0'
  else
    local fields = { 't', task, 'p', payload, 'a', '0', 'm', max }
    if delay > 0 then
      now = now or clock_ms()
      if opts ~= '' then fields[#fields + 1] = 'o'; fields[#fields + 1] = opts end
      fields[#fields + 1] = 'q'; fields[#fields + 1] = now
      fields[#fields + 1] = 'status'; fields[#fields + 1] = 'queued'
      redis.call('HSET', prefix .. id, unpack(fields))
      redis.call('ZADD', KEYS[2], now + delay, id)
    else
      if id ~= '' then fields[#fields + 1] = 'i'; fields[#fields + 1] = id end
      if opts ~= '' then fields[#fields + 1] = 'o'; fields[#fields + 1] = opts end
      local entry = add_entry(fields)
      if id ~= '' then
        redis.call('HSET', prefix .. id, 'e', entry, 'q', string.match(entry, '^(%d+)'))
      end
    end
    added = added + 1
    flags[#flags + 1] = '1'
  end
end
local cursor = '-'
if added > 0 then
  add_count(KEYS[3], 'enqueued', added)
  if types[KEYS[5]] == 'none' then
    redis.call('HSET', KEYS[5], 'format', ARGV[3], 'created_at', clock_ms())
  end
  -- Under pcall: the events key is not this script's to check (a wrong type there costs the
  -- waiter its shortcut, never the batch).
  local ok, last = pcall(redis.call, 'XREVRANGE', KEYS[6], '+', '-', 'COUNT', 1)
  if ok then cursor = last[1] and last[1][1] or '0-0' end
end
local reply = first .. ' ' .. table.concat(flags) .. ' ' .. cursor
redis.call('SET', KEYS[4], reply, 'PX', ARGV[2])
return reply
