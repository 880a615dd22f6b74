-- Include (`--- @include dead`): a job failed for good, written the same way wherever it
-- happens: fail-6 (its last attempt failed) and start-7 (its worker died on its last attempt,
-- or its record is corrupt). Not a script of its own.
--- @include history

-- Adds the dead letter of job `id` to the dead stream `grave.dead` and returns its entry id.
-- `job` holds the record's task, payload, attempt and max_attempts as read (a field gone from
-- a corrupt record is written as '': never a nil argument); `extra`, more field-value pairs.
local function add_letter(grave, id, job, err, extra)
  return redis.call('XADD', grave.dead, 'MAXLEN', '~', grave.dead_max, '*', 'id', id,
    'task', job.task or '', 'error', err, 'attempts', job.attempt or '',
    'payload', job.payload or '', 'max_attempts', job.max_attempts or '', unpack(extra or {}))
end

-- Marks the record `key` failed for good after its letter was added: status, error, the end
-- of `run` in the history (nil: no run open), where its letter is (dead_entry lets `dead
-- requeue ID` find it without scanning the dead stream), the failure TTL, and the 'failed'
-- event that wakes waiters.
local function record_failed(grave, key, id, letter, err, run)
  local fields = { 'status', 'failed', 'error', err, 'ended_at', grave.now, 'dead_entry', letter }
  redis.call('HSET', key, unpack(end_fields(fields, run, grave.now, 'failed', err)))
  redis.call('EXPIRE', key, grave.ttl)
  redis.call('XADD', grave.events, 'MAXLEN', '~', grave.events_max, '*', 'type', 'failed', 'id', id)
end
