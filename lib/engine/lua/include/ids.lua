-- Include (`--- @include ids`): stream ids as text (enqueue's consecutive ids, the trim bound
-- of include/entries.lua, the ids status and cancel may send as entry ids). Not a script of its own.
-- An id's ms and seq are unsigned 64-bit numbers; a Lua number is a double, exact only to 2^53,
-- and `..` prints one from 1e14 up as `1e+14`: an id is never turned into a number here.
local ID_MAX_PART = '18446744073709551615' -- 2^64 - 1, the largest ms or seq of a stream id

-- A decimal text (digits, no leading zero) plus one.
local function decimal_next(d)
  local i = #d
  while i > 0 and string.byte(d, i) == 57 do i = i - 1 end -- trailing '9's become '0's
  if i == 0 then return '1' .. string.rep('0', #d) end
  return string.sub(d, 1, i - 1) .. string.char(string.byte(d, i) + 1) .. string.rep('0', #d - i)
end

-- a < b for decimal texts without leading zeros.
local function decimal_less(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end

-- An id's ms and seq as text ('0', '0' for a malformed one).
local function id_split(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return ms or '0', seq or '0'
end

-- The id just after ms-seq, as Redis counts (a seq at its maximum moves on to the next ms);
-- nil after the last id a stream can hold.
local function id_next(ms, seq)
  if seq ~= ID_MAX_PART then return ms .. '-' .. decimal_next(seq) end
  if ms ~= ID_MAX_PART then return decimal_next(ms) .. '-0' end
  return nil
end

-- Whether the id ams-aseq comes before bms-bseq (parts as id_split gives them).
local function id_before(ams, aseq, bms, bseq)
  if ams ~= bms then return decimal_less(ams, bms) end
  return decimal_less(aseq, bseq)
end

-- A stream id Redis takes: two numbers within 64 bits (an auto-form id past that, or a corrupt
-- record's `e`, is no entry: XPENDING would refuse it and fail the whole call). keys.ts isAutoId.
local function u64(n)
  n = string.gsub(n, '^0+(%d)', '%1')
  return #n < #ID_MAX_PART or (#n == #ID_MAX_PART and n <= ID_MAX_PART)
end
local function is_entry(id)
  local ms, seq = string.match(id or '', '^(%d+)%-(%d+)$')
  return ms ~= nil and u64(ms) and u64(seq)
end
