// The mutants `bun run mutants` applies (scripts/mutants.ts): each one a small deliberate bug
// that breaks one guarantee of docs/internals.md, and the test files that must catch it. The
// search text must occur exactly once in its file: when the code changes, the list fails
// loudly and the mutant is rewritten for the new code (a rewrite of a file rewrites its
// mutants in the same change). `equivalent` marks a mutant no test can catch, with the reason.

import { engineMutants } from "./engine.ts";

import { type Mutant, m } from "./mutant.ts";

export type { Mutant } from "./mutant.ts";

const G = (name: string) => `tests/guarantees.${name}.test.ts`;
const T = (name: string) => `tests/${name}.test.ts`;

const LUA = (name: string) => `lib/engine/lua/${name}.lua`;
const FINISH = LUA("finish");
const CLAIM = LUA("claim");
const FAIL = LUA("fail");
const LEAVE = LUA("leave");
const RELEASE = LUA("release");
const SERVE = LUA("serve");
const ENTRIES = "lib/engine/lua/include/entries.lua";
const HISTORY = "lib/engine/lua/include/history.lua";
const MINUTES = "lib/engine/lua/include/minutes.lua";
const DEAD = "lib/engine/lua/include/dead.lua";
const SETTLE = "lib/worker/outcome-calls.ts";
const RETRY = "lib/worker/retry-policy.ts";
const E = (name: string) => `tests/engine.${name}.test.ts`;

// biome-ignore format: a table, one mutant to three lines
export const mutants: Mutant[] = [
  // Finish (finish.lua). Held by engine.ts, deleted here: first finisher wins
  // (engine-finish-nx-dropped), the outcome's TTL (engine-finish-ex-dropped), its event
  // (engine-finish-no-event), a full Redis (engine-finish-takes-memory-first), a queue-wide key
  // of the wrong type (engine-finish-type-unchecked). v1's "a finish does not recreate a gone
  // record" has no v2 counterpart: the finish writes the record only with EXPIRE, which creates
  // nothing (engine-finish-record-no-expire holds that EXPIRE).
  m("finish-ttl-failure", "lib/worker/outcomes.ts", "a finished record is kept resultTtlS, not failureTtlS",
    "const w = { consumer: o.name, resultTtlS: o.resultTtlS,",
    "const w = { consumer: o.name, resultTtlS: o.failureTtlS,", [G("ttl"), T("worker.process")]),
  m("finish-no-ack", FINISH, "an entry is acknowledged in the script that records its outcome",
    "ack_and_trim(KEYS[1], group, entries)",
    "", [G("finish"), E("finish")]),
  m("finish-wrongtype-unguarded", FINISH, "an outcome key r:<id> of another type is settled (-2), the rest of the batch recorded",
    "  elseif redis.call('TYPE', key).ok ~= 'string' then\n    -- Rare path",
    "  elseif false then\n    -- Rare path",
    [E("finish"), T("lua.corrupt"), T("worker.corrupt.paths")]),
  m("finish-count-twice", FINISH, "stats.finished counts each recorded finish once",
    "  add_count(KEYS[3], 'finished', #recorded)",
    "  add_count(KEYS[3], 'finished', #recorded + 1)", [T("worker.process"), E("finish")]),
  m("finish-histogram-bounds", FINISH, "run times counted in the histogram bucket of their upper bound (le)",
    "      if ms <= BOUNDS[j] then",
    "      if ms < BOUNDS[j] then", [E("finish"), G("finish"), T("metrics")]),
  // Shared helpers: trimming never drops jobs not yet done; history and counts.
  m("trim-past-delivered", ENTRIES, "MINID trim bound: an entry that was not pending never trims undelivered ones",
    "  if not minid and acked < #entries then",
    "  if false then", [T("lua.idempotence")]),
  m("trim-maxlen", ENTRIES, "the job stream is never trimmed by MAXLEN",
    "  redis.call('XTRIM', stream, 'MINID', minid)",
    "  redis.call('XTRIM', stream, 'MAXLEN', 0)", [T("lua.idempotence")]),
  m("trim-no-xdel", ENTRIES, "entries finished behind a slow job are deleted at once",
    "then newer[#newer + 1] = e end",
    "then end", [T("worker.reclaim")]),
  m("history-kept", HISTORY, "the history keeps the last 20 runs",
    "local HISTORY_KEPT = 20",
    "local HISTORY_KEPT = 21", [T("info.history")]),
  m("minute-count", MINUTES, "per-minute counts add what the batch did",
    "  add_count(key, minute .. ':' .. name, n)",
    "  add_count(key, minute .. ':' .. name, 1)", [T("info.history"), T("metrics")]),
  // Start and claims: nothing is written when a job starts; attempts come from delivery
  // counts (claim.lua, lib/worker/entries.ts), entries that fail the check are buried
  // (lib/engine/entry.ts, bury.lua), tasks a worker lacks are left for others (leave.lua).
  // Held by engine.ts, deleted here: a buried job's TTL (engine-claim-bury-no-ttl); a start
  // re-read after a lost reply counting no attempt (engine-claim-own-xreadgroup); starts on a
  // full Redis (no start script: a plain read writes nothing of ours; a finish that takes,
  // engine-finish-takes-memory-first).
  m("claim-max-attempts", CLAIM, "a job whose worker died on its last attempt is buried, not run again (a + deliveries >= m)",
    "    elseif a and m and a + p[4] >= m then",
    "    elseif a and m and a + p[4] > m then", [E("claim"), T("worker.reclaim"), G("ttl")]),
  m("start-resent-by-name", "lib/worker/presence.ts", "a worker restarted under the same name hands its predecessor's entries to claims, so the runs that killed it count",
    "      await client.sendCommand([\"XCLAIM\", ...to]);\n",
    "", [T("lua.idempotence"), T("reliability.crash")]),
  m("start-duplicate-delivery", CLAIM, "a claimed entry of a job that has its outcome is acknowledged, not run",
    "    elseif redis.call('TYPE', rprefix .. job_id(entry, f)).ok == 'string' then",
    "    elseif false then", [E("claim"), T("worker.baddata")]),
  m("start-gone-record", CLAIM, "an entry deleted while pending on its own worker is acknowledged, not left pending",
    "      acks[#acks + 1] = entry -- deleted while pending here: nothing to run, nothing to keep\n",
    "", [E("claim")]),
  m("start-no-attempt", "lib/worker/entries.ts", "a fresh delivery runs as the next attempt (a + 1)",
    "check.job.attemptsBefore + 1, check.job.runsBefore + 1)",
    "check.job.attemptsBefore, check.job.runsBefore + 1)", [T("worker.process")]),
  m("start-corrupt-unchecked", "lib/engine/entry.ts", "an entry that fails the entry check is dead-lettered saying what is wrong, on its own",
    "  const problem = flaw(f, id);",
    "  const problem = null;", [T("worker.corrupt"), E("formats")]),
  m("start-corrupt-verdict-lost", LUA("bury"), "a buried entry is acknowledged once dead-lettered",
    "  redis.call('XACK', KEYS[1], group, unpack(entries))\n",
    "", [E("bury"), T("worker.corrupt")]),
  m("start-wrongtype-unguarded", CLAIM, "a claimed job whose record is not a hash is handed over, not the claim failed",
    "  local ok = pcall(redis.call, 'HSET', key, 'status', 'started', 'e', entry, 'n', runs,",
    "  local ok = true, redis.call('HSET', key, 'status', 'started', 'e', entry, 'n', runs,",
    [E("claim"), T("worker.corrupt.paths")]),
  m("start-runs-lacked-task", "lib/worker/entries.ts", "a job whose task the worker lacks is left for others, not run",
    "  if (!tasks.has(task)) {",
    "  if (false) {", [T("worker.tasks")]),
  m("defer-spends-attempt", LEAVE, "a job deferred to a worker that has its task spends no attempt",
    "    local e = readd(KEYS[1], id, f, attempts, runs)",
    "    local e = readd(KEYS[1], id, f, attempts + 1, runs)", [T("worker.tasks"), E("leave")]),
  m("park-spends-attempt", LEAVE, "a job parked until a worker with its task starts spends no attempt",
    "'waiting_for', task,\n      unpack(record_fields(f, attempts, runs)))",
    "'waiting_for', task,\n      unpack(record_fields(f, attempts + 1, runs)))", [T("worker.tasks"), E("leave")]),
  // Fail (fail.lua, include/dead.lua). Held by engine.ts, deleted here: only the current run
  // (engine-fail-ownership-dropped: a run no longer current acknowledges nothing either), never
  // after an outcome (engine-fail-outcome-check-dropped), a full Redis
  // (engine-fail-takes-memory-first), a queue-wide key of the wrong type
  // (engine-fail-type-unchecked), a record that is not a hash (engine-fail-record-type-unguarded),
  // a retry due at once (engine-fail-retry-no-time).
  m("fail-no-ack", FAIL, "a failed or retried entry is acknowledged in the script that records it",
    "ack_and_trim(KEYS[1], group, acks)",
    "", [G("finish"), E("fail")]),
  m("letters-unmarked", "lib/engine/letters.ts", "only a letter whose record was dropped reads as the job (a reused id never shows an old failure)",
    "const dropped = field(entry[1], \"record\") === \"dropped\";",
    "const dropped = true;", [T("redis-full.letters")]),
  m("fail-letter-unmarked", DEAD, "a compact letter says its record was dropped (the job still reads as failed)",
    "'max_attempts', f.m or '',\n      'record', 'dropped')",
    "'max_attempts', f.m or '')", [T("redis-full.letters")]),
  m("settle-splits-queue-refusal", SETTLE, "a refusal over a queue-wide key is retried whole, never split and acknowledged",
    " && !/^ERR courier: key /.test(err.message)",
    "",
    [G("ack"), T("worker.settle")]),
  m("settle-no-split", "lib/worker/outcomes.ts", "an outcome batch refused over one bad record is split; the others are recorded",
    "      if (items.length > 1) {",
    "      if (false) {", [T("worker.settle")]),
  m("settle-oom-split", SETTLE, "an outcome refused for lack of memory is retried whole, never given up",
    "return /^(ERR|WRONGTYPE)\\b/.test(err.message) && !/^ERR courier: key /.test(err.message);",
    "return true;", [T("worker.settle"), T("redis-full.settle")]),
  m("fail-no-ttl", DEAD, "a failed record expires after failureTtlS",
    "  if code ~= 0 and j.record_key then redis.call('EXPIRE', j.record_key, j.ttl) end",
    "", [G("ttl"), T("worker.process"), E("fail")]),
  m("fail-letter-attempts", FAIL, "a dead letter carries the attempts the job used",
    "local f = { t = j.f.t, p = j.f.p, a = j.attempt, m = j.f.m }",
    "local f = { t = j.f.t, p = j.f.p, a = 0, m = j.f.m }", [T("worker.process"), E("fail")]),
  m("fail-compact-whole-error", DEAD, "a failure on a full Redis keeps a compact letter, so a failing queue drains",
    "'error', string.sub(err, 1, 100),",
    "'error', err,", [E("fail"), T("redis-full.worker")]),
  m("memory-budget-ignored", "lib/redis/memory.ts", "a worker reads Redis' memory between budgets of starts (bounds its overshoot)",
    "    this.#allowance -= granted;",
    "", [T("memory.watch"), T("redis-full.worker")]),
  m("fail-last-attempt", RETRY, "an error on the last attempt dead-letters the job (maxAttempts)",
    "if (f.permanent || f.attempt >= f.maxAttempts) return null;",
    "if (f.permanent || f.attempt > f.maxAttempts) return null;", [T("worker.process"), T("backoff")]),
  m("fail-permanent-retried", RETRY, "a PermanentError fails the job at once",
    "if (f.permanent || f.attempt >= f.maxAttempts) return null;",
    "if (f.attempt >= f.maxAttempts) return null;", [T("worker.process"), T("backoff")]),
  // Back-off.
  m("backoff-attempt-1", "lib/worker/retry-policy.ts", "back-off doubles with each attempt",
    "return retryDelayMs(f.retryAfterMs, f.attempt, o);",
    "return retryDelayMs(f.retryAfterMs, 1, o);", [G("retry"), T("backoff")]),
  m("backoff-skipped", "lib/worker/retry-policy.ts", "a plain error backs off (no Retry-After: the usual back-off)",
    "return backoffMs(attempt, o, o.random);",
    "return 0;", [G("retry")]),
  m("backoff-retry-after-uncapped", "lib/worker/retry-policy.ts", "a task's own delay is kept within 0 and backoffMaxMs",
    "return Math.min(Math.max(0, asked), o.backoffMaxMs);",
    "return Math.max(0, asked);", [G("retry"), T("backoff")]),
  m("backoff-uncapped", "lib/time.ts", "back-off is capped at backoffMaxMs",
    "return Math.min(base * 2 ** Math.max(0, n), cap);",
    "return base * 2 ** Math.max(0, n);", [G("retry"), T("backoff")]),
  m("backoff-no-jitter", "lib/worker/retry-policy.ts", "back-off has ±25% jitter",
    "capped * (0.75 + random() * 0.5)",
    "capped * 1", [G("retry"), T("backoff")]),
  // Enqueue and promotion.
  m("enqueue-bad-id", "lib/queue/prepare.ts", "job ids are checked (alphabet, not the auto-id form) before anything is sent",
    "    if (problem) throw new InputError(problem);",
    "    if (false) throw new InputError(problem);", [T("queue.enqueue")]),
  m("enqueue-bad-max-attempts", "lib/queue/prepare.ts", "maxAttempts is checked (a whole number, 1 or more) before anything is sent",
    "if (!Number.isInteger(max) || max < 1 || max > MAX_ATTEMPTS_LIMIT) {",
    "if (max < 0) {", [G("enqueue")]),
  m("enqueue-batch-id-per-try", "lib/queue/prepare.ts", "a batch keeps its id (its receipt's name) across tries",
    "  const batch = prepareBatch(jobs);\n  const receiptTtlMs = receiptTtlFor(retryWindowS);\n  return async () => {\n",
    "  const receiptTtlMs = receiptTtlFor(retryWindowS);\n  return async () => {\n    const batch = prepareBatch(jobs);\n",
    [T("queue.enqueue.full")]),
  m("enqueue-delay-ignored", "lib/engine/lua/enqueue.lua", "a delayed job waits in the delayed set",
    "    if delay > 0 then",
    "    if false then", [T("queue.enqueue"), G("retry")]),
  m("producer-delay-ignored", "lib/queue/prepare.ts", "a delayed job is due delayMs after its enqueue",
    "    delayMs: Math.max(delay, 0),",
    "    delayMs: 0,", [T("queue.enqueue"), T("worker.process")]),
  // A wait for jobs the Queue just enqueued starts from their enqueue's events cursor.
  m("wait-cursor-unused", "lib/queue/queue.ts", "a wait for jobs this Queue just enqueued blocks from their enqueue's cursor, no first look",
    "const from = this.#recent.cursorFor(ids);",
    "const from = null;", [T("queue.wait.cursor")]),
  m("recent-caller-ids", "lib/queue/recent.ts", "a wait for a caller-id job looks first (its outcome may predate its marker)",
    "if (!j.created || j.entryId === null || j.id !== j.entryId) continue;",
    "if (!j.created || j.entryId === null) continue;", [T("queue.recent"), T("queue.wait.cursor")]),
  m("recent-stale", "lib/queue/recent.ts", "a wait started long after the enqueue looks first (an expired outcome ends it at once)",
    "if (!job || now - job.atMs > FRESH_MS) return null;",
    "if (!job) return null;", [T("queue.recent")]),
  m("recent-reused", "lib/queue/recent.ts", "each remembered cursor serves one wait",
    "    for (const id of ids) this.#jobs.delete(id);\n",
    "", [T("queue.recent"), T("queue.wait.cursor")]),
  m("recent-latest-cursor", "lib/queue/recent.ts", "a wait for several jobs starts from the earliest of their cursors",
    "compareStreamIds(job.cursor, from) < 0",
    "compareStreamIds(job.cursor, from) > 0", [T("queue.recent")]),
  // Promotion (promote.lua): its status check, its due time and its type check are held by
  // engine.ts (engine-promote-status-check, engine-promote-early,
  // engine-promote-type-unchecked), deleted here.
  m("promote-no-zrem", LUA("promote"), "a promoted job leaves the delayed set (promoted once)",
    "  redis.call('ZREM', KEYS[1], id)\n",
    "", [G("retry"), T("worker.process"), E("fail")]),
  m("serve-type-unchecked", SERVE, "taking back parked jobs refused over a key of the wrong type loses no job",
    "local wrong = wrong_type({ KEYS[1], 'hash', KEYS[2], 'stream' })\nif wrong then return wrong end",
    "local wrong = nil", [T("lua.wrongtype"), E("wrongtype")]),
  // Leases and claims.
  m("lease-no-justid", "lib/engine/lua/lease.lua", "lease renewal does not bump the delivery count",
    "  args[#args + 1] = 'JUSTID'",
    "", [G("lease")]),
  m("lease-takes-back", "lib/engine/lua/lease.lua", "a lease another worker claimed is not taken back",
    "  if p[1] and p[1][2] == consumer then",
    "  if p[1] then", [T("worker.reclaim")]),
  m("lease-interval-no-slack", "lib/worker/leases.ts", "renewals happen well inside the lease (every claimIdleMs / 3)",
    "Math.floor(this.o.claimIdleMs / 3)",
    "this.o.claimIdleMs", [G("lease")]),
  m("lease-never-renewed", "lib/worker/upkeep.ts", "a long job whose worker is alive is not taken over",
    "this.#leaseTimer = setInterval(() => void this.#renewLeases(), this.d.leases.everyMs);",
    "", [T("worker.reclaim"), G("lease")]),
  m("claim-own-run-twice", "lib/worker/running.ts", "a worker never runs two copies of an entry it claimed from itself",
    "if (this.#closed || this.#running.has(job.entryId) || this.#writing.has(job.entryId)) return;",
    "if (this.#closed || this.#writing.has(job.entryId)) return;", [T("worker.reclaim"), G("network")]),
  m("nogroup-not-recreated", "lib/worker/loops.ts", "a vanished stream's group is recreated (NOGROUP), and new jobs run",
    "    if (message.startsWith(\"NOGROUP\")) {",
    "    if (false) {", [G("read")]),
  m("unknown-task-permanent", "lib/worker/attempt.ts", "a job whose task this worker lacks spends no attempt (unreachable: the worker leaves it to others)",
    "attempt.report(failure(new RetryableError(`no task named",
    "attempt.report(failure(new PermanentError(`no task named", [T("worker.process")],
    "unreachable: lib/worker/entries.ts sorts every entry whose task is not in the worker's " +
    "task map into `lacked`, which leave.lua hands to a worker that has it, before anything " +
    "runs (start-runs-lacked-task, defer-spends-attempt, park-spends-attempt)"),
  m("group-from-now", "lib/engine/lua/group.lua", "the group reads from the start: jobs enqueued before any worker are not skipped",
    "'XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM'",
    "'XGROUP', 'CREATE', KEYS[1], ARGV[1], '$', 'MKSTREAM'", [T("worker.process")]),
  m("group-full-redis", "lib/engine/lua/group.lua", "the group is created on a full Redis (first write takes no memory)",
    "redis.call('PERSIST', KEYS[1])\n",
    "", [T("redis-full.worker")]),
  m("name-not-unique", "lib/engine/lua/name.lua", "two live workers never share a name",
    "if redis.call('EXISTS', KEYS[1]) == 1 then",
    "if false then", [T("cli.hardening")]),
  m("name-full-redis", "lib/engine/lua/name.lua", "a worker claims its name on a full Redis (first write takes no memory)",
    "redis.call('PEXPIRE', KEYS[1], ARGV[3])\nredis.call('HSET'",
    "redis.call('HSET'", [T("redis-full.worker")]),
  m("reads-block-together", "lib/worker/take.ts", "idle lanes block one at a time on the shared read connection (no false stall)",
    "    if (this.#blocking) {",
    "    if (false) {", [T("worker.process")]),
  // Connections: stalls noticed, outcomes never dropped while Redis is away, lost reads.
  m("stall-never-noticed", "lib/redis/watchdog.ts", "a stalled connection is noticed after commandTimeoutMs and replaced",
    "const timer = setTimeout(onStall, limitMs);",
    "const timer = setTimeout(() => {}, limitMs);", [T("reliability.network")]),
  m("settle-drops-failed-write", "lib/worker/outcomes.ts", "an outcome whose write failed is kept and written again, never dropped",
    "      this.#queue.unshift(...again);",
    "", [T("reliability.network"), T("reliability.restart")]),
  m("read-lost-not-rechecked", "lib/worker/loops.ts", "after a failed read the worker starts its own pending entries at once",
    "    this.d.source.readLost();",
    "", [G("network")]),
  // Running: time limits, concurrency, bad payloads.
  m("no-time-limit", "lib/worker/running.ts", "an attempt ends at its time limit even if the task ignores its signal",
    "if (now >= job.current.deadline) job.current.timeOut();",
    "if (now < 0) job.current.timeOut();", [T("worker.process")]),
  m("concurrency-ignored", "lib/worker/loops.ts", "a worker never runs more jobs at once than its concurrency",
    "const slots = Math.min(share, jobs.free(o.concurrency) - this.#reserved);",
    "const slots = share;", [T("worker.process")]),
  m("bad-payload-retried", "lib/worker/attempt.ts", "a payload that is not JSON fails the job for good",
    "throw new PermanentError(\"payload is not valid JSON\");",
    "throw new Error(\"payload is not valid JSON\");", [T("worker.baddata")]),
  // Release at stop (release.lua, lib/worker/worker.ts). Held by engine.ts, deleted here: the
  // unfinished attempt not counted (engine-release-off-by-one), only this worker's entries
  // (engine-release-others). v1's "no attempt a predecessor under the same name started" is
  // start-resent-by-name now: a predecessor's entries leave the name before the worker reads.
  m("release-not-readded", RELEASE, "release at stop gives the job a fresh entry, ready at once",
    "  local e = readd(KEYS[1], id, f, attempts, runs)",
    "  local e = entry", [T("worker.shutdown"), E("release")]),
  m("stop-no-grace", "lib/worker/running.ts", "a graceful stop lets jobs in flight finish within the grace period",
    "      await within(this.empty(), graceMs);",
    "", [T("worker.shutdown")]),
  m("release-skipped", "lib/worker/worker.ts", "a stopping worker releases what it could not finish",
    "const released = leave(this.#client, this.keys, this.name)",
    "const released = Promise.resolve(0)", [T("worker.shutdown")]),
  // Operating: pruning, requeue, discard.
  m("prune-drops-pending", "lib/engine/lua/prune.lua", "a pruned worker's consumer is kept while it holds pending entries",
    "    if ok and #pending == 0 then",
    "    if ok then", [T("info")]),
  m("requeue-keeps-ttl", "lib/engine/lua/requeue.lua", "a requeued job's record no longer expires",
    "  redis.call('PERSIST', key)",
    "", [T("dead"), T("engine.dead")]),
  m("requeue-live-job", "lib/engine/lua/requeue.lua", "a letter whose id a live job reuses is left alone",
    "      or marker then",
    "      or false then", [T("dead")]),
  m("discard-live-record", "lib/engine/lua/discard.lua", "deleting a letter deletes the outcome and record only while they are about it",
    "    return parts ~= nil and parts.letter == letter",
    "    return true", [T("dead"), G("dead"), T("engine.dead")]),
  // One clock, and the queue's data format.
  m("late-by-default-interval", "lib/admin/workers.ts", "a worker is judged late by its own heartbeat interval",
    'const beatMs = num("beat_ms") || defaults.heartbeatEveryMs;',
    "const beatMs = defaults.heartbeatEveryMs;", [T("clock.skew")]),
  m("beat-on-worker-clock", "lib/engine/lua/heartbeat.lua", "a heartbeat is Redis' time, so a worker whose clock is behind is not gone",
    "redis.call('ZADD', KEYS[1], now, ARGV[1])",
    "redis.call('ZADD', KEYS[1], now - 120000, ARGV[1])", [T("clock.skew")]),
  m("task-live-short", SERVE, "a task counts as live for six of its worker's own heartbeats",
    "now + tonumber(ARGV[3])",
    "now + 60", [T("clock.skew"), T("worker.tasks"), E("leave")]),
  m("format-unchecked", "lib/engine/format.ts", "a queue of another data format is refused, not misread",
    "  if (format === null || format === String(DATA_FORMAT)) return;",
    "  return;", [T("format.version")]),
];

// The engine's mutants (scripts/mutants/engine.ts).
mutants.push(...engineMutants);
