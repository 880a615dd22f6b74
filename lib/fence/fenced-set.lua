-- A fenced write (lib/fence/store.ts, README "Fenced runs"): a value stored with the fence of
-- the run that wrote it, refused when a later run has written already. The compare and the
-- write are one script, so no other write can come between them.
-- A fence is up to 60 decimal digits: a Lua number (a double) is exact only to 2^53, and two
-- runs of one entry differ in the last digits, so fences compare as text: by length, then by
-- character (exact for digits without leading zeros).
--
-- KEYS[1] a hash: `fence` (the highest fence written), `value`
-- ARGV[1] the writing run's fence (digits, no leading zero: checked by the caller)
-- ARGV[2] the value
-- Returns 1 written (no fence yet, or ARGV[1] is at least the stored one: the same run may
-- write again), 0 refused (a later run wrote: the stored fence is higher). An error reply when
-- the stored fence is not digits without a leading zero, or longer than a fence can be (60
-- digits: someone else's write): compared as text it could pass for a low one and let any run
-- overwrite, or for a high one and refuse every run for ever, so nothing is written.
local held = redis.call('HGET', KEYS[1], 'fence')
local fence = ARGV[1]
if held and not string.find(held, '^[1-9]%d*$') and held ~= '0' then
  return redis.error_reply('ERR fenced-set: ' .. KEYS[1] .. ' holds a fence that is not a number')
end
if held and #held > 60 then
  return redis.error_reply('ERR fenced-set: ' .. KEYS[1] .. ' holds a fence longer than 60 digits')
end
if held and (#held > #fence or (#held == #fence and held > fence)) then return 0 end
redis.call('HSET', KEYS[1], 'fence', fence, 'value', ARGV[2])
return 1
