-- A running job's progress (docs/internals.md, "Progress"): the value kept for `result` and the
-- dashboard, and an event for waiters and `queue.events()`, in one call so neither is seen
-- without the other. Coalesced by the worker (lib/worker/progress.ts): at most one call per job
-- per progressMinIntervalMs.
--
-- KEYS[1] progress:<id>  KEYS[2] r:<id> (the outcome, read only)  KEYS[3] events
-- ARGV[1] job id  ARGV[2] value (JSON, at most 1 KB: lib/worker/context.ts)  ARGV[3] TTL (s)
-- ARGV[4] events max len
-- Returns 1 written, 0 the job has ended (its outcome is written: a late report is dropped, so
-- no progress event follows the job's end).
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
-- Trimmed as the finish trims: about ARGV[4] jobs' events (one job each here).
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'type', 'progress', 'id', ARGV[1],
  'value', ARGV[2])
return 1
