-- Forgets a handover consumer `<name>~gone` that holds no pending entry (include/handover.lua), once
-- a worker started under `<name>` has handed its predecessor's entries over (lib/worker/presence.ts):
-- one whose entries claims have all taken meanwhile leaves the group too.
--
-- KEYS[1] stream  ARGV[1] group  ARGV[2] the handover consumer
-- Returns: 1 when it is gone from the group (deleted, or never there), 0 when entries keep it.
--- @include handover
return drop_empty_handover(KEYS[1], ARGV[1], ARGV[2]) and 1 or 0
