-- Enqueue a batch of jobs (docs/internals.md, "1. Enqueue"): one XADD per job, the job in the entry, no
-- hash. Entry ids are consecutive: the first from '*', the k-th next `<ms>-<seq + k>` (each is
-- above the stream's top, the previous one, and nothing runs in between), so the reply carries
-- the first id only and the client derives the rest.
-- A batch sent again after a lost reply (same batch id) finds its receipt and returns the same
-- reply with ` replay` after it, adding nothing (a scheduler tells its tick's job made before).
-- Reads come first (receipt, key types, caller ids) and the first write is an XADD or HSET, so
-- a full Redis (maxmemory, noeviction: checked before a script's first write) refuses the
-- whole batch with nothing written.
-- A caller id (an idempotency key) costs its record as a marker: `e` entry, `q` enqueued ms;
-- an id that has a record is left alone (flag 0). A delayed job gets a record with the entry's
-- fields and waits in the delayed set, due at Redis' TIME + its delay; it has no entry yet.
--
-- The queue's data format is written with its first jobs, in the same call (meta.lua does it for
-- a worker): a separate call after this one would be lost with a lost reply, leaving jobs in a
-- queue with no format. It is written when `meta` is missing (its TYPE, read for the type check
-- anyway, says so: no call per batch once it exists). The producer checked the format at connect.
-- A shard of a queue of several shards cannot see the queue's layout (`{queue}:meta`, another
-- tag): its missing meta may be a queue emptied (FLUSHALL, a restart without data) and made
-- again with other shards, whose workers read none of this shard's keys. So such a shard is
-- made only by a producer that has just read the layout; one that has not (`?` after ARGV[3]'s
-- format) is refused, nothing written, and reads the layout again (lib/queue/layout.ts).
-- A shard's meta records its layout's count (`of`, written with its format): two layouts may
-- share a shard's tag (shard 0 of `q` is `{q#0#3}` with 2 shards and with 4), so a shard that
-- has a meta may still be of another layout than the producer's, whose jobs with an id would
-- go where the queue's readers never look for that id. A meta of another count is refused to
-- a producer that may not make a shard (`?`), as a missing one is; one that has just read the
-- layout writes its own count there (the other was a stale producer's). Read in the same HMGET.
-- A meta of another format (a queue emptied and made again by another Courier, or changed by
-- hand) refuses the batch: its workers would misread the jobs, or none would read them. Read
-- with the count, in the same HMGET: no call more.
--
-- The reply also carries the events stream's last id (the cursor), read in the same call: no
-- event after it can be of a job this batch added, and every event of theirs comes after it, so
-- a waiter for these jobs can block on the events from there without first reading their state
-- (lib/queue/wait.ts, waitForJobs).
--
-- KEYS[1] stream  KEYS[2] delayed (zset)  KEYS[3] stats (hash)  KEYS[4] receipt (string)
-- KEYS[5] meta (hash: format, created_at, and `of` N in a shard of N > 1)  KEYS[6] events
--   (stream; read only)
-- ARGV[1] record key prefix  ARGV[2] receipt TTL (ms)  ARGV[3] the format this Courier writes
--   and reads (a meta of another: `courier: meta … has data format …`), written on a fresh shard
--   (no meta); with `?` after it (`2?`) a fresh shard is refused (`courier: shard … has no meta`);
--   then `/N` for a shard of a layout of N > 1 shards (`2?/4`): a meta whose `of` is another
--   count is refused with `?` (`courier: shard … is one of M shards`), else given `of N`
-- ARGV[4] the batch's priority level ('' = normal; 'high' or 'low': KEYS[1] and KEYS[2] are that
--   level's, every job has an id, and its record says `priority <level>`, so status, cancel and
--   requeue find its entry; meta gets `levels 1`, which tells workers to read the levels)
-- ARGV[5] the fields per job: 6, or 7 when a job of the batch has a limit key (a batch without
--   one pays nothing for the field), or 3 or 2 (shared): the batch's jobs share their task, max
--   attempts, delay and options, sent once (a bulk enqueue: 2 or 3 arguments a job, not 7)
-- ARGV[6..] sextuples or septuples: job id ('' = auto: the entry id, plus the shard's suffix that the client
--   appends, lib/engine/enqueue.ts), task, payload JSON, max attempts,
--   delay ms (0 = now) or `@<due ms>` (a due time on Redis' clock, JobSpec.runAt: the job goes
--   to the delayed set at that score, one already past promoted at once; a delayed job always
--   has an id), options JSON ('' = none), [limit key ('' = none): the entry's `k`, JobSpec.limitKey]
--   Shared (3 or 2): ARGV[6..9] the task, max attempts, delay and options of every job, then
--   from ARGV[10] triples: job id, payload JSON, limit key; or pairs (2: no job has an id):
--   payload JSON, limit key
-- Returns "<first entry id or empty> <flags> <cursor>", one flag per job: 1 created, 0 existed;
-- cursor `-` when no job was created or the events key is not a stream; a receipt's reply (the
-- batch sent before) has ` replay` after it.
-- Or an error reply `ERR courier: key … holds a …` (nothing written: wrong_type, _wrongtype.lua),
-- `courier: shard … has no meta`, `courier: shard … is one of M shards` or
-- `courier: queue … was made with N shards` (nothing written:
-- the producer reads the queue's layout again and sends the jobs where it says),
-- or `ERR courier: stream … has no ids left` (its last id is near 2^64 - 1 in both parts: the
-- batch's entries would not fit; nothing written but the stream's last id).
--- @include wrongtype
--- @include ids
--- @include counters
--- @include clock
-- The receipt first: a GET refused (WRONGTYPE) is the type check of that key, at no extra call.
local read, seen = pcall(redis.call, 'GET', KEYS[4])
if not read then
  -- Another refusal (an ACL on the key): raised as it came, never a nil reply.
  return wrong_type({ KEYS[4], 'string' }) or error(seen)
end
if seen then return seen .. ' replay' end
-- The delayed set is written only for a delayed job: checked only when the batch has one.
-- A job waits in the delayed set when it has a delay or a due time (`@<ms>`).
local function delayed(arg)
  return string.byte(arg, 1) == 64 or (tonumber(arg) or 0) > 0
end
local expected = { KEYS[1], 'stream', KEYS[3], 'hash', KEYS[5], 'hash' }
local stride = tonumber(ARGV[5])
local shared = stride == 2 or stride == 3
local from = shared and 10 or 6
-- A layout this script does not know (a caller's mistake) is refused before any write: a step
-- of 0 would loop for ever, a short last job would fail half-way through the batch.
if not (shared or stride == 6 or stride == 7) or (#ARGV - from + 1) % stride ~= 0 then
  return redis.error_reply('ERR courier: enqueue batch has ' .. tostring(ARGV[5]) ..
    ' fields a job and ' .. (#ARGV - 5) .. ' arguments: not a layout of enqueue.lua')
end
-- The delay field of the job whose fields start at ARGV[i].
local function when_of(i)
  if shared then return ARGV[8] end
  return ARGV[i + 4]
end
-- Shared: one delay for all, looked at once.
for i = from, shared and from or #ARGV, stride do
  if delayed(when_of(i)) then
    expected[#expected + 1] = KEYS[2]; expected[#expected + 1] = 'zset'
    break
  end
end
local wrong, types = wrong_type(expected)
if wrong then return wrong end
-- A one-shard queue's meta is also the queue's layout (lib/engine/layout.ts): a queue another
-- process has just made of N shards is not written as one (its jobs would go to a stream that
-- no worker of it reads). Shards of an N-shard queue have a meta of their own, with no `shards`
-- (their layout's count is `of`).
local format, ask, count = string.match(ARGV[3], '^([^?/]*)(%??)/?(%d*)$')
local own = false -- the meta is given the producer's count (`of`) with the jobs
if types[KEYS[5]] == 'hash' then
  local read = redis.call('HMGET', KEYS[5], 'shards', 'format', 'of')
  local shards, has, of = read[1], read[2], read[3]
  if has and has ~= format then
    return redis.error_reply('courier: meta ' .. KEYS[5] .. ' has data format ' .. string.sub(has, 1, 40))
  end
  -- One as the readers read it (`01` too: lib/engine/layout.ts, parseShards).
  if shards and not string.match(shards, '^0*1$') then
    return redis.error_reply('courier: queue ' .. KEYS[5] .. ' was made with ' ..
      string.sub(shards, 1, 20) .. ' shards by another process: connect again')
  end
  if count ~= '' and of ~= count then
    if of and ask ~= '' then
      return redis.error_reply('courier: shard ' .. KEYS[5] .. ' is one of ' ..
        string.sub(of, 1, 20) .. ' shards: read the layout again')
    end
    own = ask == ''
  end
elseif ask ~= '' then
  return redis.error_reply('courier: shard ' .. KEYS[5] .. ' has no meta: read the layout again')
end
local prefix, level = ARGV[1], ARGV[4]
local first, ms, seq, now = '', nil, nil, nil
local flags, added = {}, 0
-- Delayed jobs are written after the loop: a stream with no ids left refuses the batch at its
-- first entry, and nothing may have been written before it (Redis does not roll a script back).
local later, made = {}, {}

-- The next consecutive id (ids as text: include/ids.lua); the batch's room was checked.
local function next_entry()
  if seq ~= ID_MAX_PART then seq = decimal_next(seq) else ms, seq = decimal_next(ms), '0' end
  return ms .. '-' .. seq
end

local function no_ids_left()
  return redis.error_reply('ERR courier: stream ' .. KEYS[1] .. ' has no ids left (its last id ' ..
    'is near ' .. ID_MAX_PART .. '-' .. ID_MAX_PART .. ')')
end

-- Whether `n` more ids do not fit after seq `s` of the last ms a stream can have (2^64 - 1: any
-- other ms leaves 2^64 ids or more). Checked at the batch's first entry, its first write.
local function no_room(s, n)
  for _ = 1, n do
    if s == ID_MAX_PART then return true end
    s = decimal_next(s)
  end
  return false
end

-- Jobs from the i-th on that would add an entry (at most: a caller id may exist).
local function entries_from(i)
  local n = 0
  for j = i, #ARGV, stride do if not delayed(when_of(j)) then n = n + 1 end end
  return n
end

-- Adds the job's entry (the i-th job); returns its id, or nil and an error reply.
local function add_entry(fields, i)
  if not ms then
    local got = redis.pcall('XADD', KEYS[1], '*', unpack(fields))
    if type(got) ~= 'string' then
      -- Any other refusal (NOPERM, OOM) raised as before, naming this script: the same call
      -- fails the same way, with nothing written.
      if not string.find(got.err, 'exhausted') then
        redis.call('XADD', KEYS[1], '*', unpack(fields))
      end
      return nil, no_ids_left()
    end
    first = got
    ms, seq = id_split(first)
    if ms == ID_MAX_PART and no_room(seq, entries_from(i) - 1) then
      -- The batch's only write undone (a producer user without +xdel cannot: the entry then
      -- stays; docs/internals.md, "Job ids").
      redis.pcall('XDEL', KEYS[1], first)
      return nil, no_ids_left()
    end
    return first
  end
  local entry = next_entry()
  redis.call('XADD', KEYS[1], entry, unpack(fields))
  return entry
end

for i = from, #ARGV, stride do
  local id, task, payload, max, when, opts, lkey
  if shared then
    -- The payload and key are the last two fields of a job's 3 or 2; 2 have no id before them.
    id = stride == 3 and ARGV[i] or ''
    task, payload, max, when, opts, lkey = ARGV[6], ARGV[i + stride - 2], ARGV[7], ARGV[8],
      ARGV[9], ARGV[i + stride - 1]
  else
    id, task, payload, max, when, opts = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3],
      ARGV[i + 4], ARGV[i + 5]
    lkey = stride == 7 and ARGV[i + 6] or ''
  end
  if ms and id == '' and when == '0' and opts == '' then
    -- The common job, after the batch's first entry: its XADD and nothing else (no table
    -- built and unpacked per job: a third of the script's time per job, measured). Its fields
    -- in the order the general case writes them (`k` last).
    local entry = next_entry()
    if lkey == '' then
      redis.call('XADD', KEYS[1], entry, 't', task, 'p', payload, 'a', '0', 'm', max)
    else
      redis.call('XADD', KEYS[1], entry, 't', task, 'p', payload, 'a', '0', 'm', max, 'k', lkey)
    end
    added = added + 1
    flags[#flags + 1] = '1'
  elseif id ~= '' and (made[id] or redis.call('EXISTS', prefix .. id) == 1) then
    flags[#flags + 1] = '0'
  else
    local fields = { 't', task, 'p', payload, 'a', '0', 'm', max }
    if delayed(when) then
      now = now or clock_ms()
      if opts ~= '' then fields[#fields + 1] = 'o'; fields[#fields + 1] = opts end
      if lkey ~= '' then fields[#fields + 1] = 'k'; fields[#fields + 1] = lkey end
      fields[#fields + 1] = 'q'; fields[#fields + 1] = now
      fields[#fields + 1] = 'status'; fields[#fields + 1] = 'queued'
      if level ~= '' then fields[#fields + 1] = 'priority'; fields[#fields + 1] = level end
      -- A due time is the score itself: no clock but Redis' is ever compared with it.
      local due = string.byte(when, 1) == 64 and string.sub(when, 2) or now + tonumber(when)
      later[#later + 1] = { id, fields, due }
      made[id] = true
    else
      if id ~= '' then fields[#fields + 1] = 'i'; fields[#fields + 1] = id end
      if opts ~= '' then fields[#fields + 1] = 'o'; fields[#fields + 1] = opts end
      if lkey ~= '' then fields[#fields + 1] = 'k'; fields[#fields + 1] = lkey end
      local entry, refused = add_entry(fields, i)
      if refused then return refused end
      if id ~= '' and level ~= '' then
        redis.call('HSET', prefix .. id, 'e', entry, 'q', string.match(entry, '^(%d+)'),
          'priority', level)
      elseif id ~= '' then
        redis.call('HSET', prefix .. id, 'e', entry, 'q', string.match(entry, '^(%d+)'))
      end
    end
    added = added + 1
    flags[#flags + 1] = '1'
  end
end
for _, d in ipairs(later) do
  redis.call('HSET', prefix .. d[1], unpack(d[2]))
  redis.call('ZADD', KEYS[2], d[3], d[1])
end
local cursor = '-'
if added > 0 then
  add_count(KEYS[3], 'enqueued', added)
  if types[KEYS[5]] == 'none' and count ~= '' then
    redis.call('HSET', KEYS[5], 'format', format, 'created_at', clock_ms(), 'of', count)
  elseif types[KEYS[5]] == 'none' then
    redis.call('HSET', KEYS[5], 'format', format, 'created_at', clock_ms())
  elseif own then
    redis.call('HSET', KEYS[5], 'of', count)
  end
  if level ~= '' then redis.call('HSET', KEYS[5], 'levels', '1') end
  -- Under pcall: the events key is not this script's to check (a wrong type there costs the
  -- waiter its shortcut, never the batch).
  local ok, last = pcall(redis.call, 'XREVRANGE', KEYS[6], '+', '-', 'COUNT', '1')
  if ok then cursor = last[1] and last[1][1] or '0-0' end
end
local reply = first .. ' ' .. table.concat(flags) .. ' ' .. cursor
redis.call('SET', KEYS[4], reply, 'PX', ARGV[2])
return reply
