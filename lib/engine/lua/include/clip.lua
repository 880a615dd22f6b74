-- Include (`--- @include clip`): text cut to a number of bytes, never inside a UTF-8 character
-- (a cut inside one reads back as U+FFFD). Not a script of its own.

-- `s` cut to at most `most` bytes, before the character that would cross the bound.
local function clip_text(s, most)
  if #s <= most then return s end
  local cut = most
  -- Back to the first byte of a character: a byte 0x80-0xBF continues the one before it.
  while cut > 0 do
    local b = string.byte(s, cut + 1)
    if b < 0x80 or b >= 0xC0 then break end
    cut = cut - 1
  end
  return string.sub(s, 1, cut)
end
