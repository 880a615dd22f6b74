-- PROTOTYPE (bench/prototype-v2, not used by lib/): Engine v2's finish for a batch, to measure
-- Redis time per job. One redis.call per job (SET NX EX: first finisher wins, result and TTL in
-- one command); per batch: TIME, XACK, XPENDING, XTRIM, event, counters; optionally takes the
-- next entries (XREADGROUP, non-blocking) in the same call.
-- KEYS[1] stream  KEYS[2] events  KEYS[3] stats  KEYS[4] minutes  KEYS[5] durations
-- ARGV[1] result key prefix  ARGV[2] group  ARGV[3] consumer  ARGV[4] ttl s  ARGV[5] events max
-- ARGV[6] take (0 = none)  ARGV[7..] quads: entry id, job id, run ms, value (client-built)
local prefix, group = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local entries, out, recorded = {}, {}, {}
for i = 7, #ARGV, 4 do entries[#entries + 1] = ARGV[i] end
local acked = redis.call('XACK', KEYS[1], group, unpack(entries))
local minid = redis.call('XPENDING', KEYS[1], group)[2]
if not minid then
  local ms, seq = string.match(entries[#entries], '^(%d+)-(%d+)$')
  minid = ms .. '-' .. (seq + 1)
end
redis.call('XTRIM', KEYS[1], 'MINID', minid)
local BOUNDS = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000 }
local buckets, sum = {}, 0
local head = 'F' .. now .. ' '
for i = 7, #ARGV, 4 do
  local ms = tonumber(ARGV[i + 2])
  if redis.call('SET', prefix .. ARGV[i + 1], head .. ARGV[i + 2] .. ' ' .. ARGV[i + 3], 'NX', 'EX', ARGV[4]) then
    recorded[#recorded + 1] = ARGV[i + 1]
    local b = 'inf'
    for j = 1, #BOUNDS do if ms <= BOUNDS[j] then b = BOUNDS[j]; break end end
    buckets[b] = (buckets[b] or 0) + 1
    sum = sum + ms
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
if #recorded > 0 then
  local keep = math.max(1, math.ceil(tonumber(ARGV[5]) / #recorded))
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', keep, '*', 'type', 'finished', 'ids', table.concat(recorded, ','))
  redis.call('HINCRBY', KEYS[3], 'finished', #recorded)
  redis.call('HINCRBY', KEYS[4], math.floor(now / 60000) .. ':finished', #recorded)
  for b, n in pairs(buckets) do redis.call('HINCRBY', KEYS[5], b, n) end
  redis.call('HINCRBY', KEYS[5], 'count', #recorded)
  redis.call('HINCRBY', KEYS[5], 'sum_ms', sum)
end
if tonumber(ARGV[6]) > 0 then
  local read = redis.call('XREADGROUP', 'GROUP', group, ARGV[3], 'COUNT', ARGV[6], 'STREAMS', KEYS[1], '>')
  return { out, read and read[1][2] or {} }
end
return { out, {} }
