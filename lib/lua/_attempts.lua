-- Shared by start-5, finish-5 and fail-6 (lib/_scripts.ts puts this before each of them): a
-- job's history of attempts, and the per-minute counts. Not a script of its own.

-- The `history` field (a JSON array) as a table; one that does not parse (written by hand) is
-- started afresh rather than failing the batch.
local function decode_history(text)
  local ok, h = pcall(cjson.decode, text or '[]')
  if ok and type(h) == 'table' then return h end
  return {}
end

-- The attempt `consumer` is closing: its latest open one, else the latest open one at all.
local function open_attempt(h, consumer)
  for j = #h, 1, -1 do
    if not h[j]['end'] and h[j].worker == consumer then return h[j] end
  end
  for j = #h, 1, -1 do
    if not h[j]['end'] then return h[j] end
  end
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
