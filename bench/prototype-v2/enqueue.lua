-- PROTOTYPE: a batch of XADDs in one script, ids consecutive (the first from '*', the rest
-- explicit), so the reply is the first id only and a receipt makes a re-send after a lost reply
-- return the same ids. KEYS[1] stream KEYS[2] receipt  ARGV[1] receipt ttl ms
-- ARGV[2..] groups of 4: task, payload, attempt base, max attempts
local seen = redis.call('GET', KEYS[2])
if seen then return seen end
local first = redis.call('XADD', KEYS[1], '*', 't', ARGV[2], 'p', ARGV[3], 'a', ARGV[4], 'm', ARGV[5])
local ms, seq = string.match(first, '^(%d+)-(%d+)$')
seq = tonumber(seq)
for i = 6, #ARGV, 4 do
  seq = seq + 1
  redis.call('XADD', KEYS[1], ms .. '-' .. seq, 't', ARGV[i], 'p', ARGV[i + 1], 'a', ARGV[i + 2], 'm', ARGV[i + 3])
end
redis.call('SET', KEYS[2], first, 'PX', ARGV[1])
return first
