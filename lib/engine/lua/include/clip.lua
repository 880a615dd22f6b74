-- Include (`--- @include clip`): text cut to a number of bytes, never inside a UTF-8 character
-- (a cut inside one reads back as U+FFFD). Not a script of its own.

-- `s` cut to at most `most` bytes, before the character that would cross the bound. A character
-- is at most 4 bytes: past 3 continuation bytes the text is no UTF-8 there (a foreign writer's
-- bytes), and it is cut at `most` as it is.
local function clip_text(s, most)
  if #s <= most then return s end
  -- Back to the first byte of a character: a byte 0x80-0xBF continues the one before it.
  for cut = most, most - 3, -1 do
    if cut < 1 then break end
    local b = string.byte(s, cut + 1)
    if b < 0x80 or b >= 0xC0 then return string.sub(s, 1, cut) end
  end
  return string.sub(s, 1, most)
end
