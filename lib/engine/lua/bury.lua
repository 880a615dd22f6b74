-- Bury entries that cannot run (docs/internals.md, "3. Start"): an entry whose fields fail the
-- worker's check (lib/engine/entry.ts) is dead-lettered alone, with `corrupt record:
-- <problem>` and whatever fields it has, its job failed (r:<id>, when its id is known) with
-- the failure TTL, then acknowledged and deleted; the rest of its batch runs as usual.
-- Only an entry still pending to this consumer is buried: a bury re-sent after a lost reply
-- finds it acknowledged and writes no second letter (0).
-- Order as the finish: reads, a write that takes no memory, the letters, acknowledgements last.
--
-- KEYS[1] stream  KEYS[2] dead  KEYS[3] events  KEYS[4] stats  KEYS[5] minutes
-- ARGV[1] result key prefix  ARGV[2] record key prefix  ARGV[3] group  ARGV[4] consumer
-- ARGV[5] failure TTL (s; 0 = Redis is full: the letter only, record dropped, the oldest
--   letter dropped for it as include/dead.lua says, counted `dead_trimmed`)
-- ARGV[6] dead max len  ARGV[7] events max len  ARGV[8] minutes of counts kept
-- ARGV[9] the shard's id suffix (keys.ts idSuffix: '' for one shard, `:<s>` of N > 1)
-- ARGV[10..] quadruples: entry id, job id ('' = not known: the letter names the entry's auto id,
--   the entry id and the suffix, so that an id-less letter still names its shard), problem,
--   the attempt that ran ('' = none ran: the letter and the failed value say the entry's `a`)
-- Returns one integer per entry: 1 buried, 0 not buried: not pending to this consumer (left
-- alone), or its job has an outcome already (a duplicate entry: acknowledged and deleted, no
-- letter, no count: the job is not failed), -2 buried but r:<id> holds another type (no
-- outcome written). Or an error reply
-- `ERR courier: key … holds a …` (nothing written).
--- @include wrongtype
--- @include counters
--- @include minutes
--- @include clock
--- @include dead
--- @include readd
--- @include dependents
local wrong = wrong_type({ KEYS[1], 'stream', KEYS[2], 'stream', KEYS[3], 'stream',
  KEYS[4], 'hash', KEYS[5], 'hash' })
if wrong then return wrong end
local group, consumer = ARGV[3], ARGV[4]
local out, fields, entries, ids = {}, {}, {}, {}

for i = 10, #ARGV, 4 do
  local entry = ARGV[i]
  local p = redis.call('XPENDING', KEYS[1], group, entry, entry, 1, consumer)[1]
  local f = nil
  -- TYPE, not EXISTS: an r:<id> of another type is no outcome (the job is buried, -2 below).
  if p and ARGV[i + 1] ~= '' and redis.call('TYPE', ARGV[1] .. ARGV[i + 1]).ok == 'string' then
    entries[#entries + 1] = entry -- the job has its outcome (a duplicate entry): no letter
  elseif p then
    f = entry_at(KEYS[1], entry) or {}
    entries[#entries + 1] = entry
  end
  fields[#fields + 1] = f or false
end
local now = clock_ms()
redis.call('PERSIST', KEYS[1]) -- a write that takes no memory: a full Redis still buries
for i = 10, #ARGV, 4 do
  local n = (i - 6) / 4
  local f = fields[n]
  if not f then
    out[n] = 0
  else
    local id, err = ARGV[i + 1], 'corrupt record: ' .. ARGV[i + 2]
    if ARGV[i + 3] ~= '' then f.a = ARGV[i + 3] end
    local code = 1
    if id == '' then
      -- No id to keep an outcome under: the letter, named by the entry's auto id, is all there is.
      dead_letter(KEYS[2], ARGV[6], ARGV[i] .. ARGV[9], f, err, false)
    else
      local _, c = fail_for_good({
        dead = KEYS[2], dead_max = ARGV[6], id = id, f = f, err = err, ttl = ARGV[5],
        now = now, result_key = ARGV[1] .. id, record_key = f.i and ARGV[2] .. id or nil,
        attempt = f.a, worker = consumer,
      })
      code = c
    end
    if id ~= '' then ids[#ids + 1] = id end
    out[n] = code == -2 and -2 or 1
  end
end
local buried = 0
for _, f in ipairs(fields) do if f then buried = buried + 1 end end
if buried > 0 then
  if #ids > 0 then
    local keep = math.max(1, math.ceil(tonumber(ARGV[7]) / #ids))
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', keep, '*', 'type', 'failed', 'ids',
      table.concat(ids, ','))
  end
  add_count(KEYS[4], 'failed', buried)
  add_count(KEYS[4], 'dead', buried)
  count_minute(KEYS[5], now, tonumber(ARGV[8]), 'failed', buried)
end
if letters_trimmed > 0 then add_count(KEYS[4], 'dead_trimmed', letters_trimmed) end
-- A buried job that others wait for: they learn it failed (include/dependents.lua).
if #ids > 0 then note_ended(KEYS[6], KEYS[7], ids, now) end
ack_and_delete(KEYS[1], group, entries)
return out
