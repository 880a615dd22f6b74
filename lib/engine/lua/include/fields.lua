-- Include (`--- @include fields`): a stream entry's fields as a table, for scripts that read an
-- entry back (readd includes it; finish takes it alone: every helper a script includes is
-- defined again at each call, a cost a batch of one pays in full: docs/performance.md, "Where
-- a script's time goes"). Not a script of its own.

-- A flat field/value list as a table.
local function to_map(flat)
  local f = {}
  for j = 1, #flat - 1, 2 do f[flat[j]] = flat[j + 1] end
  return f
end

-- A flat field/value list's bytes, names and values: what a call that copies it moves. The
-- calls that copy jobs by id (promote, serve, release, give-back, claim) stop once what they
-- read reaches their bytes bound (MOVE_BYTES, lib/config.ts), weighed here alone.
local function flat_bytes(flat)
  local n = 0
  for _, v in ipairs(flat) do n = n + #v end
  return n
end

-- The fields of one stream entry, or nil when the entry is gone (deleted or trimmed); with
-- `weigh`, their bytes (flat_bytes) too.
local function entry_at(stream, entry, weigh)
  local e = redis.call('XRANGE', stream, entry, entry)[1]
  if e then return to_map(e[2]), weigh and flat_bytes(e[2]) end
end
