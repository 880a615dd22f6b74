-- A page of a stream's entries, read only, bounded however large its entries are (lib/engine/
-- stream-page.ts): XRANGE with COUNT answers whole entries, a job's payload or a dead letter's
-- with them, so 500 waiting jobs of 1 MiB took 652 MB in `queue jobs`, and 16 letters were read
-- before a dead page weighed them. Here entries are read one at a time, only the fields asked
-- for are kept, each value cut to a bound, and the page stops once its bytes reach a bound.
-- KEYS[1] the stream
-- ARGV[1] XRANGE or XREVRANGE  ARGV[2] the bound the read starts from (XRANGE's start,
--   XREVRANGE's end: '-', '+', '<id>' or '(<id>')  ARGV[3] the other bound
-- ARGV[4] entries at most
-- ARGV[5] bytes at most (0: no bound): the page ends with the entry that reaches it
-- ARGV[6] a value's bytes at most (0: whole): a longer value is cut to that many bytes
-- ARGV[7..] the fields kept (none given: every field)
-- Returns { entries as XRANGE answers them ([id, flat fields kept]), 1 when the bytes ended the
--   page before ARGV[4] entries (more may follow), else 0 }
local want = nil
if #ARGV >= 7 then
  want = {}
  for i = 7, #ARGV do want[ARGV[i]] = true end
end
local most, most_bytes, cut = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local out, bytes, from = {}, 0, ARGV[2]
while #out < most do
  local entry = redis.call(ARGV[1], KEYS[1], from, ARGV[3], 'COUNT', 1)[1]
  if not entry then break end
  local flat, kept = entry[2], {}
  for i = 1, #flat - 1, 2 do
    if not want or want[flat[i]] then
      local v = flat[i + 1]
      if cut > 0 and #v > cut then v = string.sub(v, 1, cut) end
      kept[#kept + 1] = flat[i]
      kept[#kept + 1] = v
      bytes = bytes + #flat[i] + #v
    end
  end
  out[#out + 1] = { entry[1], kept }
  from = '(' .. entry[1]
  if most_bytes > 0 and bytes >= most_bytes and #out < most then return { out, 1 } end
end
return { out, 0 }
