-- Include (`--- @include entries`): where acknowledged entries leave the job stream (the
-- finish, fail and claim scripts call ack_and_trim last; bury, release and leave delete theirs
-- with ack_and_delete, include/readd.lua). Not a script of its own.

--- @include ids

-- The id just after `id` (include/ids.lua: as text, exact up to 2^64 - 1), or `id` itself when
-- it is the last a stream can hold (nothing comes after it to trim below).
local function id_after(id)
  local ms, seq = id_split(id)
  return id_next(ms, seq) or id
end

-- Whether stream id a >= b. Ids whose ms have as many digits (every id for the next 250 years:
-- 13) compare as text, ms first, then the longer seq (no leading zeros) or the text: no
-- parsing, the cost of a batch's loop over its entries at concurrency 128.
local function id_at_least(a, b)
  local da, db = string.find(a, '-', 1, true), string.find(b, '-', 1, true)
  if da and da == db then
    if #a == #b then return a >= b end
    local ma, mb = string.sub(a, 1, da), string.sub(b, 1, db)
    if ma ~= mb then return ma > mb end
    return #a > #b
  end
  local ams, aseq = id_split(a)
  local bms, bseq = id_split(b)
  return not id_before(ams, aseq, bms, bseq)
end

-- Acknowledges stream entries in one call (variadic, in chunks well under Lua's unpack()
-- limit), then removes every acknowledged entry from the stream. A batch of up to XDEL_AT_MOST
-- entries deletes its own (XDEL: one call, where the trim below takes two, and a batch of one
-- pays them alone). A bigger one trims by MINID behind the oldest pending entry (never by
-- MAXLEN, which would drop jobs not yet done), which frees whole stream nodes at once: less
-- Redis time per job than an XDEL per entry (docs/performance.md). What the trim cannot reach
-- (newer than a job still running) is XDEL'd. Returns how many entries XACK acknowledged (0:
-- all were acknowledged already, e.g. a call re-sent after a lost reply).
local XDEL_AT_MOST = 1
local function ack_and_trim(stream, group, entries)
  if #entries == 0 then return 0 end
  local acked = 0
  for i = 1, #entries, 1000 do
    acked = acked + redis.call('XACK', stream, group, unpack(entries, i, math.min(i + 999, #entries)))
  end
  if #entries <= XDEL_AT_MOST then
    redis.call('XDEL', stream, unpack(entries))
    return acked
  end
  -- Everything older than the oldest pending entry has been acknowledged: entries are
  -- delivered in id order, and an entry leaves the pending list only when acknowledged. With
  -- nothing pending, that holds for everything up to the newest entry acknowledged here, if every
  -- one of them was pending (delivered, so every older one was too); an entry that was not
  -- (acknowledged twice, or Redis lost data since) leaves the group's last delivered entry as the
  -- bound.
  local minid = redis.call('XPENDING', stream, group)[2]
  -- Whether the trim alone removes every entry of the batch (see the loop below).
  local trimmed_all = false
  if not minid and acked < #entries then
    local last
    for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
      local f = {}
      for j = 1, #g - 1, 2 do f[g[j]] = g[j + 1] end
      if f.name == group then last = f['last-delivered-id'] end
    end
    if not last then return acked end
    minid = id_after(last)
  elseif not minid then
    local newest, nms, nseq = entries[1], id_split(entries[1])
    for _, e in ipairs(entries) do
      local ms, seq = id_split(e)
      if id_before(nms, nseq, ms, seq) then newest, nms, nseq = e, ms, seq end
    end
    minid = id_after(newest)
    trimmed_all = minid ~= newest -- not so at the last id a stream can hold
  end
  redis.call('XTRIM', stream, 'MINID', minid)
  -- Entries acknowledged now but newer than the oldest pending one (a slow job holds the trim
  -- back) are deleted one by one, so a long job cannot pin everything finished after it.
  -- (With nothing pending and the bound just after the batch's newest entry, there are none.)
  local newer = {}
  if not trimmed_all then
    for _, e in ipairs(entries) do
      if id_at_least(e, minid) then newer[#newer + 1] = e end
    end
  end
  for i = 1, #newer, 1000 do
    redis.call('XDEL', stream, unpack(newer, i, math.min(i + 999, #newer)))
  end
  return acked
end
