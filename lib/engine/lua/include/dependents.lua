-- Included (`--- @include dependents`) by every script that ends a job (finish, fail, bury,
-- claim, cancel, empty, parent-ended): the ended jobs other jobs wait for are noted in the shard's
-- `ended-parents` (docs/internals.md, "Dependencies and batches"). Not a script of its own.

-- Of `ids` (jobs this call ended, their outcome written in this same call), those in
-- `has` (the shard's has-dependents set) go into `ended` (id -> `now`; NX: a parent noted
-- twice keeps its first time). One SMISMEMBER per call whatever the number of ids: the cost
-- a queue without dependencies pays (a set that does not exist answers zeros at once).
-- Both under pcall: a key of ours of another type (a hand edit) loses no job's outcome, and
-- the jobs are ended all the same; but their ends are not noted, so their dependents wait
-- until they are canceled (mending the key later does not tell them).
-- Returns how many were noted.
local function note_ended(has, ended, ids, now)
  local noted = 0
  for i = 1, #ids, 1000 do
    local last = math.min(i + 999, #ids)
    local ok, marks = pcall(redis.call, 'SMISMEMBER', has, unpack(ids, i, last))
    if ok then
      local add = {}
      for k = 1, #marks do
        if marks[k] == 1 then add[#add + 1] = now; add[#add + 1] = ids[i + k - 1] end
      end
      if #add > 0 and pcall(redis.call, 'ZADD', ended, 'NX', unpack(add)) then
        noted = noted + #add / 2
      end
    end
  end
  return noted
end
