-- Move jobs whose retry back-off or delay is over from the delayed set back to the
-- stream (docs/internals.md, "6. Fail and retry"). Due is judged by Redis' clock (TIME), never a worker's. Any
-- worker may run it: ZREM before XADD inside one script means two workers never both re-add a
-- job. The new entry is made from the record, carrying `a` (attempts used) and `n` (runs in
-- the history), with `i` = the job id; the record then points at it (`e`) and says `queued`.
-- A record that is not a hash goes to the stream as it is (an entry with `i` only): the
-- worker's validation buries it with a reason, and promotion never stops on it.
--
-- KEYS[1] delayed (zset)  KEYS[2] stream
-- ARGV[1] record prefix  ARGV[2] most jobs moved per call
-- Returns: number of jobs moved. Or an error reply `ERR courier: key … holds a …` (nothing
-- written): a WRONGTYPE from the XADD would come after the ZREM, losing a job per call.
--- @include wrongtype
--- @include clock
--- @include readd
local wrong = wrong_type({ KEYS[1], 'zset', KEYS[2], 'stream' })
if wrong then return wrong end
local now = clock_ms()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[2])
local moved = 0
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[1] .. id
  local ok, flat = pcall(redis.call, 'HGETALL', key)
  if not ok then
    redis.call('XADD', KEYS[2], '*', 'i', id)
  else
    local f = to_map(flat)
    -- A record that expired or was deleted while waiting, or ended, has nothing left to run.
    if f.status == 'retrying' or f.status == 'queued' then
      local entry = readd(KEYS[2], id, f, f.a, f.n)
      redis.call('HSET', key, 'status', 'queued', 'e', entry)
      moved = moved + 1
    end
  end
end
return moved
