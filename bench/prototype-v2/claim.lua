-- PROTOTYPE (bench/prototype-v2, not used by lib/): Engine v2's takeover of lapsed leases, to
-- check attempts counted from delivery counts. Owner and delivery count come from XPENDING
-- (which bumps nothing) before XCLAIM (which adds one); attempt = a + deliveries before + 1.
-- An entry whose attempts are used up is buried instead of claimed.
-- KEYS[1] stream  KEYS[2] dead
-- ARGV[1] group  ARGV[2] consumer  ARGV[3] min idle ms  ARGV[4] first id  ARGV[5] count
-- Returns: {next cursor, per entry {entry id, 'run', attempt, previous owner} or
-- {entry id, 'buried', attempt}}.
local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], ARGV[4], '+', ARGV[5])
if #p == 0 then return { '0-0', {} } end
local before, ids = {}, {}
for _, e in ipairs(p) do
  before[e[1]] = e
  ids[#ids + 1] = e[1]
end
local out = {}
for _, entry in ipairs(redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], unpack(ids))) do
  local id, f, fields = entry[1], {}, entry[2] or {}
  for j = 1, #fields - 1, 2 do f[fields[j]] = fields[j + 1] end
  local used = (tonumber(f.a) or 0) + before[id][4]
  local max = tonumber(f.m) or 1
  if used >= max then
    redis.call('XACK', KEYS[1], ARGV[1], id)
    redis.call('XDEL', KEYS[1], id)
    redis.call('XADD', KEYS[2], '*', 'id', f.i or id, 'error',
      'abandoned: its worker stopped during attempt ' .. used .. ' of ' .. max)
    out[#out + 1] = { id, 'buried', used }
  else
    out[#out + 1] = { id, 'run', used + 1, before[id][2] }
  end
end
local last = p[#p][1]
local ms, seq = string.match(last, '^(%d+)-(%d+)$')
return { ms .. '-' .. (seq + 1), out }
