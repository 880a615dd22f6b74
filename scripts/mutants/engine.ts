// The engine's mutants (scripts/mutants/list.ts appends them): each a small deliberate bug
// in lib/engine/ that breaks one guarantee of the scripts or the entry check
// (docs/internals.md, "Mutation testing"), and the engine-level tests that must catch it
// (tests/engine.*.test.ts, which call the typed functions against a real Redis).
import { type Mutant, m } from "./mutant.ts";

const LUA = (name: string) => `lib/engine/lua/${name}.lua`;
const E = (name: string) => `tests/engine.${name}.test.ts`;
const T = (name: string) => `tests/${name}.test.ts`;

// biome-ignore format: a table, one mutant to three lines
export const engineMutants: Mutant[] = [
  // Finish: first finisher wins (NX), the result and the record expire, a full Redis still
  // records, nothing acknowledged before its outcome, the take reads at most the free slots.
  m("engine-finish-nx-dropped", LUA("finish"), "first finisher wins: a second finish keeps the first outcome (SET NX)",
    "redis.call('SET', key, head .. ARGV[i + 4], 'NX', 'EX', ttl)",
    "redis.call('SET', key, head .. ARGV[i + 4], 'EX', ttl)", [E("finish")]),
  m("engine-finish-ex-dropped", LUA("finish"), "a finished job's outcome expires after resultTtlS (SET EX)",
    "redis.call('SET', key, head .. ARGV[i + 4], 'NX', 'EX', ttl)",
    "redis.call('SET', key, head .. ARGV[i + 4], 'NX')", [E("finish")]),
  m("engine-finish-record-no-expire", LUA("finish"), "a finished job's record (idempotency marker, history) expires with its result",
    "    if ARGV[i + 2] == '1' then redis.call('EXPIRE', jprefix .. id, ttl) end\n    recorded[",
    "    recorded[", [E("finish")]),
  m("engine-finish-takes-memory-first", LUA("finish"), "a finish writes first with a command that takes no memory, so a full Redis still records results",
    "redis.call('PERSIST', KEYS[1]) -- the write that takes no memory (see above)\n",
    "", [E("finish")]),
  m("engine-finish-ack-first", LUA("finish"), "no entry is acknowledged before its outcome is written (a script error half-way leaves them pending)",
    "  entries[#entries + 1] = entry\n",
    "  entries[#entries + 1] = entry\n  redis.call('XACK', KEYS[1], group, entry)\n", [E("finish")]),
  m("engine-finish-take-exceeded", LUA("finish"), "a finish takes at most the worker's free slots (take k)",
    "'COUNT', ARGV[9],",
    "'COUNT', tonumber(ARGV[9]) + 1,", [E("finish")]),
  // Enqueue: a re-sent batch adds nothing, a caller id is one job, Redis' clock, consecutive ids.
  m("engine-enqueue-receipt-ignored", LUA("enqueue"), "a batch sent again after a lost reply enqueues nothing twice (its receipt)",
    "if seen then return seen end",
    "", [E("enqueue")]),
  m("engine-enqueue-exists-dropped", LUA("enqueue"), "a caller id whose record exists is not enqueued twice",
    "  elseif id ~= '' and redis.call('EXISTS', prefix .. id) == 1 then",
    "  elseif false then", [E("enqueue")]),
  m("engine-enqueue-client-clock", LUA("enqueue"), "a delayed job is due at Redis' TIME + its delay, never a host's clock (one a minute behind here)",
    "now = now or clock_ms()",
    "now = now or clock_ms() - 60000", [E("enqueue")]),
  m("engine-enqueue-ids-gap", LUA("enqueue"), "a batch's entry ids are consecutive (first + k), as the client derives them",
    "    seq = seq + 1\n    redis.call('XADD', KEYS[1], ms .. '-' .. seq,",
    "    seq = seq + 2\n    redis.call('XADD', KEYS[1], ms .. '-' .. seq,", [E("enqueue")]),
  m("engine-enqueue-ids-derived-wrong", "lib/engine/enqueue.ts", "the client derives the k-th entry id as first + k",
    "let seq = dash < 0 ? 0 : Number(first.slice(dash + 1));",
    "let seq = dash < 0 ? 0 : Number(first.slice(dash + 1)) + 1;", [E("enqueue")]),
  // Claim: attempts from delivery counts, own entries without a bump, burial when used up.
  m("engine-claim-deliveries-ignored", LUA("claim"), "a claimed job's attempt counts its deliveries (a + deliveries + 1)",
    "      take_over(entry, f, raw, p, (a or 0) + p[4])",
    "      take_over(entry, f, raw, p, (a or 0) + 1)", [E("claim")]),
  m("engine-claim-bury-deliveries-ignored", LUA("claim"), "a job whose worker died on its last attempt is buried (a + deliveries >= m)",
    "    elseif a and m and a + p[4] >= m then",
    "    elseif a and m and a + 1 >= m then", [E("claim")]),
  m("engine-claim-bury-skipped", LUA("claim"), "a job whose attempts are used up is buried as abandoned, not run again",
    "    elseif a and m and a + p[4] >= m then",
    "    elseif false then", [E("claim")]),
  m("engine-claim-own-xreadgroup", LUA("claim"), "own pending entries are read back without bumping their delivery count (no XREADGROUP … 0)",
    "local function own()\n",
    "local function own()\n  redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT', most, 'STREAMS', KEYS[1], '0')\n",
    [E("claim")]),
  m("engine-claim-own-in-others", LUA("claim"), "others mode leaves this worker's own pending entries to own mode",
    "    if p[2] ~= me then ids[#ids + 1] = p[1] end",
    "    ids[#ids + 1] = p[1]", [E("claim")]),
  // Fail: only the current run, no outcome yet, due by Redis' clock, counters never decide.
  m("engine-fail-ownership-dropped", LUA("fail"), "only the consumer that holds the entry may fail the job",
    "  if not p or p[2] ~= consumer then",
    "  if not p then", [E("fail")]),
  m("engine-fail-outcome-check-dropped", LUA("fail"), "a job that has an outcome (r:<id>) is never retried nor failed again",
    "    if rtype == 'string' then\n      job.code = 0",
    "    if false then\n      job.code = 0", [E("fail")]),
  m("engine-fail-retry-no-time", LUA("fail"), "a retry is due at Redis' TIME + its delay",
    "  redis.call('ZADD', KEYS[2], now + j.delay, j.id)",
    "  redis.call('ZADD', KEYS[2], j.delay, j.id)", [E("fail")]),
  m("engine-counters-decide-acks", "lib/engine/lua/include/counters.lua", "a corrupt counter field never stops a script between its writes and its acknowledgements",
    "  if not pcall(redis.call, 'HINCRBY', key, field, n) then redis.call('HSET', key, field, n) end",
    "  redis.call('HINCRBY', key, field, n)", [E("fail"), E("finish"), E("bury"), E("enqueue")]),
  // Promote, leave, release, requeue, bury.
  // ZREM moved after the XADD (each branch): a due job whose record is gone or ended is never
  // removed, and promotion meets it again on every call.
  m("engine-promote-zrem-after-xadd", LUA("promote"), "a due job leaves the delayed set first, whatever its record holds",
    "  redis.call('ZREM', KEYS[1], id)\n" +
      "  local key = ARGV[1] .. id\n" +
      "  local ok, flat = pcall(redis.call, 'HGETALL', key)\n" +
      "  if not ok then\n" +
      "    redis.call('XADD', KEYS[2], '*', 'i', id)\n" +
      "  else\n" +
      "    local f = to_map(flat)\n" +
      "    -- A record that expired or was deleted while waiting, or ended, has nothing left to run.\n" +
      "    if f.status == 'retrying' or f.status == 'queued' then\n" +
      "      local entry = readd(KEYS[2], id, f, f.a, f.n)\n",
    "  local key = ARGV[1] .. id\n" +
      "  local ok, flat = pcall(redis.call, 'HGETALL', key)\n" +
      "  if not ok then\n" +
      "    redis.call('XADD', KEYS[2], '*', 'i', id)\n" +
      "    redis.call('ZREM', KEYS[1], id)\n" +
      "  else\n" +
      "    local f = to_map(flat)\n" +
      "    -- A record that expired or was deleted while waiting, or ended, has nothing left to run.\n" +
      "    if f.status == 'retrying' or f.status == 'queued' then\n" +
      "      local entry = readd(KEYS[2], id, f, f.a, f.n)\n" +
      "      redis.call('ZREM', KEYS[1], id)\n",
    [E("fail")]),
  m("engine-leave-spends-attempt", LUA("leave"), "a job left for a worker with its task spends no attempt (a + deliveries - 1)",
    "local attempts = a and (a + p[4] - 1) or f.a or ''",
    "local attempts = a and (a + p[4]) or f.a or ''", [E("leave")]),
  m("engine-leave-ack-first", LUA("leave"), "an entry left for others is acknowledged only after its job is re-added or parked",
    "  if p and p[2] == me then acks[#acks + 1] = entry end",
    "  if p and p[2] == me then redis.call('XACK', KEYS[1], group, entry); redis.call('XDEL', KEYS[1], entry) end",
    [E("leave")]),
  m("engine-release-off-by-one", LUA("release"), "release at stop does not count the unfinished run (a + deliveries - 1)",
    "local attempts = a and (a + deliveries - 1) or f.a",
    "local attempts = a and (a + deliveries) or f.a", [E("release")]),
  m("engine-requeue-seen-dropped", LUA("requeue"), "two letters of one job requeued in one call make one entry",
    "    elseif seen[j.id] then",
    "    elseif false then", [E("dead")]),
  m("engine-bury-outcome-unchecked", LUA("bury"), "an entry of a job that has its outcome is acknowledged only: no letter, no failure counted",
    "  if p and ARGV[i + 1] ~= '' and redis.call('TYPE', ARGV[1] .. ARGV[i + 1]).ok == 'string' then",
    "  if false then", [E("bury")]),
  // Acknowledged last in the rare-path scripts too (the tests make a write fail half-way).
  m("engine-fail-ack-first", LUA("fail"), "a failed entry is acknowledged only after its retry or failure is written",
    "    acks[#acks + 1] = entry\n",
    "    acks[#acks + 1] = entry\n    redis.call('XACK', KEYS[1], group, entry)\n", [E("fail")]),
  m("engine-bury-ack-first", LUA("bury"), "a buried entry is acknowledged only after its letter and failed value are written",
    "    f = entry_at(KEYS[1], entry) or {}\n",
    "    f = entry_at(KEYS[1], entry) or {}\n    redis.call('XACK', KEYS[1], group, entry)\n", [E("bury")]),
  m("engine-release-ack-first", LUA("release"), "a released entry is acknowledged only after its job is re-added",
    "for _, p in ipairs(pending) do\n  local f = entry_at(KEYS[1], p[1])",
    "for _, p in ipairs(pending) do\n  redis.call('XACK', KEYS[1], group, p[1])\n  local f = entry_at(KEYS[1], p[1])",
    [E("release")]),
  m("engine-release-others", LUA("release"), "a stopping worker releases only the entries pending on itself",
    "redis.call('XPENDING', KEYS[1], group, '-', '+', ARGV[5], me)",
    "redis.call('XPENDING', KEYS[1], group, '-', '+', ARGV[5])", [E("release")]),
  // TTLs: nothing a claim or a bury writes lives forever; a waiting job's record does.
  m("engine-claim-bury-no-ttl", LUA("claim"), "a job buried on a claim (attempts used up) expires after failureTtlS",
    "err = err, ttl = ARGV[9], now = now - p[3],",
    "err = err, ttl = '100000000', now = now - p[3],", [E("claim")]),
  m("engine-claim-made-record-no-ttl", LUA("claim"), "a record a claim makes expires unless the job waits on it",
    "    if not f.i and tonumber(ARGV[9]) > 0 then redis.call('EXPIRE', key, ARGV[9]) end\n",
    "", [E("claim")]),
  m("engine-fail-retry-keeps-ttl", LUA("fail"), "a job waiting for its retry keeps its record (no TTL)",
    "  redis.call('PERSIST', key)\n  forget_old_run(key, j.run)",
    "  forget_old_run(key, j.run)", [E("claim"), E("fail")]),
  m("engine-enqueue-receipt-forever", LUA("enqueue"), "a batch's receipt expires once no producer re-sends it",
    "redis.call('SET', KEYS[4], reply, 'PX', ARGV[2])",
    "redis.call('SET', KEYS[4], reply)", [E("enqueue")]),
  // Claims take only lapsed leases; promotion only what is due and still waiting.
  m("engine-claim-idle-ignored", LUA("claim"), "only entries idle for the whole lease are taken over",
    "redis.call('XPENDING', KEYS[1], group, 'IDLE', ARGV[6], start, '+', most)",
    "redis.call('XPENDING', KEYS[1], group, 'IDLE', 0, start, '+', most)", [E("claim")]),
  m("engine-promote-early", LUA("promote"), "only jobs whose time has come (Redis' clock) are promoted",
    "redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now,",
    "redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '+inf',", [E("fail")]),
  m("engine-promote-status-check", LUA("promote"), "promotion skips a delayed job whose record expired, was deleted or ended",
    "    if f.status == 'retrying' or f.status == 'queued' then",
    "    if true then", [E("fail")]),
  m("engine-leave-window-ignored", LUA("leave"), "a task whose workers' liveness window ended parks the job instead of deferring it",
    "  return until_ms ~= nil and until_ms >= now",
    "  return until_ms ~= nil", [E("leave")]),
  m("engine-requeue-attempts-kept", LUA("requeue"), "a requeued job starts again with a fresh attempt count (a 0)",
    "redis.call('HSET', key, 'e', readd(KEYS[2], j.id, f, 0, runs))",
    "redis.call('HSET', key, 'e', readd(KEYS[2], j.id, f, l.attempts or 0, runs))", [E("dead")]),
  m("engine-finish-no-event", LUA("finish"), "a finish writes one event naming its jobs (waiters wake on it)",
    "'*', 'type', 'finished', 'ids',",
    "'*', 'type', 'other', 'ids',", [E("finish")]),
  // A queue-wide key of the wrong type is refused before any write (include/wrongtype.lua).
  m("engine-finish-type-unchecked", LUA("finish"), "a finish refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E("wrongtype")]),
  m("engine-enqueue-type-unchecked", LUA("enqueue"), "a enqueue refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E("wrongtype")]),
  m("engine-promote-type-unchecked", LUA("promote"), "a promote refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E("wrongtype")]),
  m("engine-claim-type-unchecked", LUA("claim"), "a claim refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E("wrongtype")]),
  m("engine-bury-type-unchecked", LUA("bury"), "a bury refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E("wrongtype")]),
  m("engine-leave-type-unchecked", LUA("leave"), "a leave refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E("wrongtype")]),
  m("engine-requeue-type-unchecked", LUA("requeue"), "a requeue refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E("wrongtype")]),
  m("engine-fail-type-unchecked", LUA("fail"), "a fail refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E("fail")]),
  m("engine-fail-record-type-unguarded", LUA("fail"), "a record that is not a hash fails its job for good as corrupt, never the batch",
    "local ok, q = pcall(redis.call, 'HGET', jprefix .. id, 'q')",
    "local ok, q = true, redis.call('HGET', jprefix .. id, 'q')", [E("fail")]),
  // A full Redis: each rare-path script writes first with a command that takes no memory.
  m("engine-claim-takes-memory-first", LUA("claim"), "a claim goes through on a full Redis (first write takes no memory)",
    "redis.call('PERSIST', KEYS[1]) -- a write that takes no memory first: a full Redis lets it run\n",
    "", [E("full")],
    "on every path that writes, the claim's first write is XCLAIM (or, in own mode, XACK), which " +
    "Redis does not check against maxmemory either (no denyoom flag): a full Redis lets the claim " +
    "through without the PERSIST, which keeps that true when the script changes"),
  m("engine-fail-takes-memory-first", LUA("fail"), "a failure is recorded on a full Redis (first write takes no memory)",
    "write_without_memory(KEYS[1])\n",
    "", [E("full")]),
  m("engine-leave-takes-memory-first", LUA("leave"), "a job is left for others on a full Redis (first write takes no memory)",
    "redis.call('PERSIST', KEYS[1]) -- the write that takes no memory (see above)\n",
    "", [E("full")]),
  m("engine-release-takes-memory-first", LUA("release"), "release at stop goes through on a full Redis (first write takes no memory)",
    "redis.call('PERSIST', KEYS[1]) -- the write that takes no memory (see above)\n",
    "", [E("full")]),
  m("engine-bury-takes-memory-first", LUA("bury"), "a bury goes through on a full Redis (first write takes no memory)",
    "redis.call('PERSIST', KEYS[1]) -- a write that takes no memory: a full Redis still buries\n",
    "", [E("bury")]),
  m("engine-requeue-full-batch", LUA("requeue"), "on a full Redis a requeue that would make a record from a letter is refused whole",
    "if creates then redis.call('HSETNX', KEYS[3], 'requeued', 0) end",
    "", [E("full")]),
  m("engine-status-queued-before-started", "lib/engine/status.ts", "a delivered job reads as started (with its owner), not queued: the pending list decides before the entry",
    "  if (pending) {\n",
    "  if (entry.size > 0 || due !== null) return base(\"queued\", a);\n  if (pending) {\n", [E("status")]),
  // Reading back: the outcome decides before the record's status.
  m("engine-status-record-first", "lib/engine/status.ts", "a job that has an outcome reads as finished or failed, whatever its record says",
    "  if (outcome !== null) {",
    "  if (outcome !== null && !record.has(\"status\")) {", [E("status")]),
  // Many ids (tests/queue.wait.chunks.test.ts): status.lua gets at most STATUS_CHUNK per call,
  // a waiter stops reading at its time limit, and the ids it did not reach are still waited for.
  m("engine-status-one-call", "lib/engine/status.ts", "a long list is read in calls of at most STATUS_CHUNK ids",
    "const chunk = ids.slice(at, at + STATUS_CHUNK);",
    "const chunk = ids.slice(at);", [T("queue.wait.chunks")]),
  m("engine-status-no-deadline", "lib/engine/status.ts", "a read with a deadline stops between calls once the time is up",
    "at < ids.length && goOn();",
    "at < ids.length;", [T("queue.wait.chunks")]),
  m("wait-unread-ids-end", "lib/queue/read.ts", "ids a first look cut short by the deadline did not read are still pending",
    "    records.forEach((r, i) => {\n",
    "    list.forEach((_, i) => {\n      const r = records[i] ?? null;\n", [T("queue.wait.chunks")]),
  m("wait-keeps-records", "lib/queue/read.ts", "keepRecords: false keeps no record in `ended`",
    "if (options.keepRecords ?? true) ended.set(",
    "ended.set(", [T("queue.wait.chunks")]),
  // The entry check (lib/engine/entry.ts): what the worker buries instead of running.
  m("engine-entry-max-zero", "lib/engine/entry.ts", "an entry with max attempts below 1 is buried",
    "  if (m === null || m < 1) {",
    "  if (m === null) {", [E("formats")]),
  m("engine-entry-used-up", "lib/engine/entry.ts", "an entry whose attempts are used up (a >= m) is buried, not run",
    "  if (a >= m) return",
    "  if (a > m) return", [E("formats")]),
  m("engine-entry-bad-id", "lib/engine/entry.ts", "an entry whose `i` is no valid job id is buried",
    "const id = rawId === undefined ? entryId : isValidJobId(rawId) ? rawId : \"\";",
    "const id = rawId === undefined ? entryId : rawId;", [E("formats")]),
];
