-- Move jobs whose retry back-off or delay is over from the delayed set back to the
-- stream (docs/internals.md, "6. Fail and retry"). Due is judged by Redis' clock (TIME), never a worker's. Any
-- worker may run it: ZREM before XADD inside one script means two workers never both re-add a
-- job. The new entry is made from the record, carrying `a` (attempts used) and `n` (runs in
-- the history), with `i` = the job id; the record then points at it (`e`) and says `queued`.
-- A record that is not a hash goes to the stream as it is (an entry with `i` only): the
-- worker's validation buries it with a reason, and promotion never stops on it.
--
-- A call copies whole records (payload included), so it stops at ARGV[2] jobs or once the
-- records it read reach ARGV[3] bytes (the one that crosses it included): 1,000 records of
-- 256 KB made one call of 500 ms, Redis blocked throughout. The caller calls again at once
-- while `more` says more may be due.
--
-- KEYS[1] delayed (zset)  KEYS[2] stream
-- ARGV[1] record prefix  ARGV[2] most jobs moved per call
-- ARGV[3] most record bytes read per call  ARGV[4] result key prefix (a job that has its
--   outcome already is not re-added: include/readd.lua ended_meanwhile)
-- Returns: { moved, more }: the jobs moved, and 1 when more may be due (the call stopped at a
-- bound) else 0. Or an error reply `ERR courier: key … holds a …` (nothing written): a
-- WRONGTYPE from the XADD would come after the ZREM, losing a job per call. Or `ERR courier:
-- stream … refused job …, left where it was` (a stream with no ids left): the jobs before it
-- moved, that one back in the delayed set at its score.
--- @include wrongtype
--- @include clock
--- @include readd
local wrong = wrong_type({ KEYS[1], 'zset', KEYS[2], 'stream' })
if wrong then return wrong end
local now = clock_ms()
-- With their scores: a job the stream refuses goes back at its own (added_or_put_back).
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, ARGV[2])
local most_bytes = tonumber(ARGV[3])
local moved, bytes = 0, 0
local more = #due / 2 >= tonumber(ARGV[2]) and 1 or 0
for i = 1, #due, 2 do
  local id, score = due[i], due[i + 1]
  if bytes >= most_bytes then
    more = 1
    break
  end
  -- Out first (the write that takes no memory: a full Redis still promotes), put back if the
  -- stream refuses the job (added_or_put_back).
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[1] .. id
  local ok, flat = pcall(redis.call, 'HGETALL', key)
  if not ok then
    local _, refused = added_or_put_back(KEYS[1], score, id, KEYS[2], function()
      return redis.call('XADD', KEYS[2], '*', 'i', id)
    end)
    if refused then return refused end
  else
    bytes = bytes + flat_bytes(flat)
    local f = to_map(flat)
    -- A record that expired or was deleted while waiting, or ended, has nothing left to run.
    if (f.status == 'retrying' or f.status == 'queued') and
        not ended_meanwhile(ARGV[4] .. id, key) then
      local entry, refused = added_or_put_back(KEYS[1], score, id, KEYS[2], function()
        return readd(KEYS[2], id, f, f.a, f.n)
      end)
      if refused then return refused end
      redis.call('HSET', key, 'status', 'queued', 'e', entry)
      moved = moved + 1
    end
  end
end
return { moved, more }
