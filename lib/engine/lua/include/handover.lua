-- Include (`--- @include handover`): the consumer `<name>~gone` a restarted worker hands its dead
-- predecessor's entries to (lib/worker/presence.ts, handOverPredecessor). Not a script of its own.

-- Deletes the handover consumer `ghost` from the group when nothing is pending on it; else it
-- would stay there for ever (prune forgets only names in the workers set). DELCONSUMER drops
-- the consumer's pending entries too, so one pending entry keeps it. The check and the delete
-- are in one script: nothing runs between them. Entries reach a handover consumer only by the
-- XCLAIM of handOverPredecessor, a command of its own at the start of a worker under that name:
-- it runs before this check or after the delete, and one after makes the consumer anew (XCLAIM
-- creates it), so no entry is lost. Returns whether the consumer is gone (or was never there).
local function drop_empty_handover(stream, group, ghost)
  local ok, pending = pcall(redis.call, 'XPENDING', stream, group, '-', '+', 1, ghost)
  if not ok or #pending > 0 then return false end
  redis.call('XGROUP', 'DELCONSUMER', stream, group, ghost)
  return true
end
