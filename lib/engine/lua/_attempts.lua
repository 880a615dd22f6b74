-- Shared by start-7, finish-5 and fail-6 (lib/engine/lua.ts puts this before each of them): a
-- job's history of attempts, and the per-minute counts. Not a script of its own.
--
-- History lives in the job hash itself, so recording it costs no read and no JSON, and one
-- field per event, since every field an HSET writes is paid for by each job: a start numbers
-- its run (`runs`, never reset, unlike `attempt`, which a requeue resets) and writes
-- h:<run> = "<attempt> <start ms> <worker>"; the end writes h:<run>:e = "<end ms> <outcome>"
-- and, for a failure, h:<run>:x (error). The last HISTORY_KEPT runs are kept. lib/engine/record.ts
-- reads them back.
local HISTORY_KEPT = 20
local HISTORY_ERROR_CHARS = 1000

-- The history's field names and values (lib/engine/record.ts parses them). A script builds the parts
-- that are the same for every job of its batch once: `opened` and `ended_as` below.
local function run_field(run) return 'h:' .. run end
local function end_field(run) return 'h:' .. run .. ':e' end
-- What follows the attempt number in h:<run>: " <start ms> <worker>".
local function opened(now, worker) return ' ' .. now .. ' ' .. worker end
-- The value of h:<run>:e.
local function ended_as(now, outcome) return now .. ' ' .. outcome end

-- Fields that end `run` (to append to an HSET): its end time and outcome, and the error.
local function end_fields(fields, run, now, outcome, err)
  if not run or run < 1 then return fields end
  fields[#fields + 1] = end_field(run); fields[#fields + 1] = ended_as(now, outcome)
  if err then
    fields[#fields + 1] = run_field(run) .. ':x'
    fields[#fields + 1] = string.sub(err, 1, HISTORY_ERROR_CHARS)
  end
  return fields
end

-- Drops the run that fell out of the kept history when `run` starts.
local function forget_old_run(key, run)
  local old = run - HISTORY_KEPT
  if old < 1 then return end
  local h = run_field(old)
  redis.call('HDEL', key, h, h .. ':e', h .. ':x')
end

-- Adds n to `<minute>:<name>` in the per-minute hash. When a new minute starts, the fields that
-- fell out of the last `kept` minutes are deleted (remembered by `trimmed`), so the hash stays
-- small at an O(1) amortised cost.
local function count_minute(key, now, kept, name, n)
  local minute = math.floor(now / 60000)
  local trimmed = tonumber(redis.call('HGET', key, 'trimmed'))
  if trimmed and minute - trimmed >= kept then
    redis.call('DEL', key) -- nothing counted for longer than we keep: all of it is too old
  elseif trimmed and minute > trimmed then
    local old = {}
    for m = trimmed - kept + 1, minute - kept do
      old[#old + 1] = m .. ':finished'; old[#old + 1] = m .. ':failed'
      old[#old + 1] = m .. ':retried'
    end
    if #old > 0 then redis.call('HDEL', key, unpack(old)) end
  end
  if not trimmed or minute > trimmed then redis.call('HSET', key, 'trimmed', minute) end
  redis.call('HINCRBY', key, minute .. ':' .. name, n)
end

-- A full Redis (maxmemory reached, noeviction) refuses a command that may take memory, but
-- inside a script only before the script's first write (a script is never stopped half-way;
-- checked on Redis 7.0 by tests/redis-full.worker.test.ts). Scripts that must run while Redis is full, so the queue can drain, write
-- first with a command that takes no memory: start, finish and fail call this (start in
-- 'take' mode reads the entries itself: XREADGROUP is also such a write). PERSIST on the
-- stream is a no-op (it never has a TTL) that counts as that first write. What the script then
-- takes is bounded by the batch (a started job's few fields, an outcome), and finish and fail
-- free more at their end, when they acknowledge and trim their entries (settle_entries, below:
-- last, so that a script error half-way leaves every entry pending).
local function write_without_memory(stream) redis.call('PERSIST', stream) end

-- Acknowledges stream entries in one call (variadic, in chunks well under Lua's unpack()
-- limit), then removes every acknowledged entry from the stream. Trimming by MINID behind the
-- oldest pending entry (never by MAXLEN, which would drop jobs not yet done) frees whole
-- stream nodes at once: about 2.5 us of Redis time per job less than an XDEL per entry. What
-- the trim cannot reach (newer than a job still running) is XDEL'd.
-- A stream id as its ms (text and number) and seq; and the id just after it, "ms-(seq+1)",
-- with the ms kept as text (a number could print as 1e+12).
local function id_parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return ms, tonumber(ms) or 0, tonumber(seq) or 0
end
local function id_after(id)
  local text, _, seq = id_parts(id)
  return text .. '-' .. (seq + 1)
end

local function settle_entries(stream, group, entries)
  if #entries == 0 then return end
  local acked = 0
  for i = 1, #entries, 1000 do
    acked = acked + redis.call('XACK', stream, group, unpack(entries, i, math.min(i + 999, #entries)))
  end
  -- Everything older than the oldest pending entry has been acknowledged: entries are
  -- delivered in id order, and an entry leaves the pending list only when acknowledged. With
  -- nothing pending, that holds for everything up to the newest entry settled here, if every
  -- one of them was pending (delivered, so every older one was too); an entry that was not
  -- (settled twice, or Redis lost data since) leaves the group's last delivered entry as the
  -- bound.
  local minid = redis.call('XPENDING', stream, group)[2]
  if not minid and acked < #entries then
    local last
    for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
      local f = {}
      for j = 1, #g - 1, 2 do f[g[j]] = g[j + 1] end
      if f.name == group then last = f['last-delivered-id'] end
    end
    if not last then return end
    minid = id_after(last)
  elseif not minid then
    local newest, nms, nseq = entries[1], -1, -1
    for _, e in ipairs(entries) do
      local _, ms, seq = id_parts(e)
      if ms > nms or (ms == nms and seq > nseq) then newest, nms, nseq = e, ms, seq end
    end
    minid = id_after(newest)
  end
  redis.call('XTRIM', stream, 'MINID', minid)
  -- Entries acknowledged now but newer than the oldest pending one (a slow job holds the trim
  -- back) are deleted one by one, so a long job cannot pin everything finished after it.
  local _, mms, mseq = id_parts(minid)
  local newer = {}
  for _, e in ipairs(entries) do
    local _, ms, seq = id_parts(e)
    if ms > mms or (ms == mms and seq >= mseq) then newer[#newer + 1] = e end
  end
  for i = 1, #newer, 1000 do
    redis.call('XDEL', stream, unpack(newer, i, math.min(i + 999, #newer)))
  end
end
