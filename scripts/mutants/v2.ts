// The Engine v2 mutants (scripts/mutants/list.ts appends them): each a small deliberate bug
// in lib/engine/v2/ that breaks one guarantee of the v2 scripts or the entry check
// (docs/internals.md, "Mutation testing"), and the engine-level tests that must catch it
// (tests/engine.v2.*.test.ts, which call the typed functions against a real Redis). Side by
// side with v1's until the worker and queue switch over and v1's scripts and mutants go.
import type { Mutant } from "./list.ts";

/** One mutant: id, file, what it breaks, the exact text, its replacement, the tests. */
function m(
  id: string,
  file: string,
  breaks: string,
  search: string,
  replace: string,
  tests: string[],
  equivalent?: string,
): Mutant {
  return { id, file, breaks, search, replace, tests, equivalent };
}

const V2 = (name: string) => `lib/engine/v2/lua/${name}.lua`;
const E2 = (name: string) => `tests/engine.v2.${name}.test.ts`;

// biome-ignore format: a table, one mutant to three lines
export const v2Mutants: Mutant[] = [
  // Finish: first finisher wins (NX), the result and the record expire, a full Redis still
  // records, nothing acknowledged before its outcome, the take reads at most the free slots.
  m("v2-finish-nx-dropped", V2("finish"), "first finisher wins: a second finish keeps the first outcome (SET NX)",
    "redis.call('SET', key, head .. ARGV[i + 4], 'NX', 'EX', ttl)",
    "redis.call('SET', key, head .. ARGV[i + 4], 'EX', ttl)", [E2("finish")]),
  m("v2-finish-ex-dropped", V2("finish"), "a finished job's outcome expires after resultTtlS (SET EX)",
    "redis.call('SET', key, head .. ARGV[i + 4], 'NX', 'EX', ttl)",
    "redis.call('SET', key, head .. ARGV[i + 4], 'NX')", [E2("finish")]),
  m("v2-finish-record-no-expire", V2("finish"), "a finished job's record (idempotency marker, history) expires with its result",
    "    if ARGV[i + 2] == '1' then redis.call('EXPIRE', jprefix .. id, ttl) end\n    recorded[",
    "    recorded[", [E2("finish")]),
  m("v2-finish-takes-memory-first", V2("finish"), "a finish writes first with a command that takes no memory, so a full Redis still records results",
    "redis.call('PERSIST', KEYS[1]) -- the write that takes no memory (see above)\n",
    "", [E2("finish")]),
  m("v2-finish-ack-first", V2("finish"), "no entry is acknowledged before its outcome is written (a script error half-way leaves them pending)",
    "  entries[#entries + 1] = entry\n",
    "  entries[#entries + 1] = entry\n  redis.call('XACK', KEYS[1], group, entry)\n", [E2("finish")]),
  m("v2-finish-take-exceeded", V2("finish"), "a finish takes at most the worker's free slots (take k)",
    "'COUNT', ARGV[9],",
    "'COUNT', tonumber(ARGV[9]) + 1,", [E2("finish")]),
  // Enqueue: a re-sent batch adds nothing, a caller id is one job, Redis' clock, consecutive ids.
  m("v2-enqueue-receipt-ignored", V2("enqueue"), "a batch sent again after a lost reply enqueues nothing twice (its receipt)",
    "if seen then return seen end",
    "", [E2("enqueue")]),
  m("v2-enqueue-exists-dropped", V2("enqueue"), "a caller id whose record exists is not enqueued twice",
    "  elseif id ~= '' and redis.call('EXISTS', prefix .. id) == 1 then",
    "  elseif false then", [E2("enqueue")]),
  m("v2-enqueue-client-clock", V2("enqueue"), "a delayed job is due at Redis' TIME + its delay, never a host's clock (one a minute behind here)",
    "now = now or clock_ms()",
    "now = now or clock_ms() - 60000", [E2("enqueue")]),
  m("v2-enqueue-ids-gap", V2("enqueue"), "a batch's entry ids are consecutive (first + k), as the client derives them",
    "    seq = seq + 1\n    redis.call('XADD', KEYS[1], ms .. '-' .. seq,",
    "    seq = seq + 2\n    redis.call('XADD', KEYS[1], ms .. '-' .. seq,", [E2("enqueue")]),
  m("v2-enqueue-ids-derived-wrong", "lib/engine/v2/enqueue.ts", "the client derives the k-th entry id as first + k",
    "let seq = dash < 0 ? 0 : Number(first.slice(dash + 1));",
    "let seq = dash < 0 ? 0 : Number(first.slice(dash + 1)) + 1;", [E2("enqueue")]),
  // Claim: attempts from delivery counts, own entries without a bump, burial when used up.
  m("v2-claim-deliveries-ignored", V2("claim"), "a claimed job's attempt counts its deliveries (a + deliveries + 1)",
    "      take_over(entry, f, raw, p, (a or 0) + p[4])",
    "      take_over(entry, f, raw, p, (a or 0) + 1)", [E2("claim")]),
  m("v2-claim-bury-deliveries-ignored", V2("claim"), "a job whose worker died on its last attempt is buried (a + deliveries >= m)",
    "    elseif a and m and a + p[4] >= m then",
    "    elseif a and m and a + 1 >= m then", [E2("claim")]),
  m("v2-claim-bury-skipped", V2("claim"), "a job whose attempts are used up is buried as abandoned, not run again",
    "    elseif a and m and a + p[4] >= m then",
    "    elseif false then", [E2("claim")]),
  m("v2-claim-own-xreadgroup", V2("claim"), "own pending entries are read back without bumping their delivery count (no XREADGROUP … 0)",
    "local function own()\n",
    "local function own()\n  redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT', most, 'STREAMS', KEYS[1], '0')\n",
    [E2("claim")]),
  m("v2-claim-own-in-others", V2("claim"), "others mode leaves this worker's own pending entries to own mode",
    "    if p[2] ~= me then ids[#ids + 1] = p[1] end",
    "    ids[#ids + 1] = p[1]", [E2("claim")]),
  // Fail: only the current run, no outcome yet, due by Redis' clock, counters never decide.
  m("v2-fail-ownership-dropped", V2("fail"), "only the consumer that holds the entry may fail the job",
    "  if not p or p[2] ~= consumer then",
    "  if not p then", [E2("fail")]),
  m("v2-fail-outcome-check-dropped", V2("fail"), "a job that has an outcome (r:<id>) is never retried nor failed again",
    "    if redis.call('EXISTS', rprefix .. id) == 1 then\n      job.code = 0",
    "    if false then\n      job.code = 0", [E2("fail")]),
  m("v2-fail-retry-no-time", V2("fail"), "a retry is due at Redis' TIME + its delay",
    "  redis.call('ZADD', KEYS[2], now + j.delay, j.id)",
    "  redis.call('ZADD', KEYS[2], j.delay, j.id)", [E2("fail")]),
  m("v2-counters-decide-acks", "lib/engine/lua/include/counters.lua", "a corrupt counter field never stops a script between its writes and its acknowledgements",
    "  if not pcall(redis.call, 'HINCRBY', key, field, n) then redis.call('HSET', key, field, n) end",
    "  redis.call('HINCRBY', key, field, n)", [E2("fail"), E2("finish"), E2("bury"), E2("enqueue")]),
  // Promote, leave, release, requeue, bury.
  // ZREM moved after the XADD (each branch): a due job whose record is gone or ended is never
  // removed, and promotion meets it again on every call.
  m("v2-promote-zrem-after-xadd", V2("promote"), "a due job leaves the delayed set first, whatever its record holds",
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
    [E2("fail")]),
  m("v2-leave-spends-attempt", V2("leave"), "a job left for a worker with its task spends no attempt (a + deliveries - 1)",
    "local attempts = a and (a + p[4] - 1) or f.a or ''",
    "local attempts = a and (a + p[4]) or f.a or ''", [E2("leave")]),
  m("v2-leave-ack-first", V2("leave"), "an entry left for others is acknowledged only after its job is re-added or parked",
    "  if p and p[2] == me then acks[#acks + 1] = entry end",
    "  if p and p[2] == me then redis.call('XACK', KEYS[1], group, entry); redis.call('XDEL', KEYS[1], entry) end",
    [E2("leave")]),
  m("v2-release-off-by-one", V2("release"), "release at stop does not count the unfinished run (a + deliveries - 1)",
    "local attempts = a and (a + deliveries - 1) or f.a",
    "local attempts = a and (a + deliveries) or f.a", [E2("release")]),
  m("v2-requeue-seen-dropped", V2("requeue"), "two letters of one job requeued in one call make one entry",
    "    elseif seen[j.id] then",
    "    elseif false then", [E2("dead")]),
  m("v2-bury-outcome-unchecked", V2("bury"), "an entry of a job that has its outcome is acknowledged only: no letter, no failure counted",
    "  if p and ARGV[i + 1] ~= '' and redis.call('TYPE', ARGV[1] .. ARGV[i + 1]).ok == 'string' then",
    "  if false then", [E2("bury")]),
  // Acknowledged last in the rare-path scripts too (the tests make a write fail half-way).
  m("v2-fail-ack-first", V2("fail"), "a failed entry is acknowledged only after its retry or failure is written",
    "    acks[#acks + 1] = entry\n",
    "    acks[#acks + 1] = entry\n    redis.call('XACK', KEYS[1], group, entry)\n", [E2("fail")]),
  m("v2-bury-ack-first", V2("bury"), "a buried entry is acknowledged only after its letter and failed value are written",
    "    f = {}\n",
    "    f = {}\n    redis.call('XACK', KEYS[1], group, entry)\n", [E2("bury")]),
  m("v2-release-ack-first", V2("release"), "a released entry is acknowledged only after its job is re-added",
    "for _, p in ipairs(pending) do\n  local f = entry_at(KEYS[1], p[1])",
    "for _, p in ipairs(pending) do\n  redis.call('XACK', KEYS[1], group, p[1])\n  local f = entry_at(KEYS[1], p[1])",
    [E2("release")]),
  m("v2-release-others", V2("release"), "a stopping worker releases only the entries pending on itself",
    "redis.call('XPENDING', KEYS[1], group, '-', '+', ARGV[5], me)",
    "redis.call('XPENDING', KEYS[1], group, '-', '+', ARGV[5])", [E2("release")]),
  // TTLs: nothing a claim or a bury writes lives forever; a waiting job's record does.
  m("v2-claim-bury-no-ttl", V2("claim"), "a job buried on a claim (attempts used up) expires after failureTtlS",
    "err = err, ttl = ARGV[9], now = now - p[3],",
    "err = err, ttl = '100000000', now = now - p[3],", [E2("claim")]),
  m("v2-claim-made-record-no-ttl", V2("claim"), "a record a claim makes expires unless the job waits on it",
    "    if not f.i and tonumber(ARGV[9]) > 0 then redis.call('EXPIRE', key, ARGV[9]) end\n",
    "", [E2("claim")]),
  m("v2-fail-retry-keeps-ttl", V2("fail"), "a job waiting for its retry keeps its record (no TTL)",
    "  redis.call('PERSIST', key)\n  forget_old_run(key, j.run)",
    "  forget_old_run(key, j.run)", [E2("claim"), E2("fail")]),
  m("v2-enqueue-receipt-forever", V2("enqueue"), "a batch's receipt expires once no producer re-sends it",
    "redis.call('SET', KEYS[4], reply, 'PX', ARGV[2])",
    "redis.call('SET', KEYS[4], reply)", [E2("enqueue")]),
  // Claims take only lapsed leases; promotion only what is due and still waiting.
  m("v2-claim-idle-ignored", V2("claim"), "only entries idle for the whole lease are taken over",
    "redis.call('XPENDING', KEYS[1], group, 'IDLE', ARGV[6], start, '+', most)",
    "redis.call('XPENDING', KEYS[1], group, 'IDLE', 0, start, '+', most)", [E2("claim")]),
  m("v2-promote-early", V2("promote"), "only jobs whose time has come (Redis' clock) are promoted",
    "redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now,",
    "redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '+inf',", [E2("fail")]),
  m("v2-promote-status-check", V2("promote"), "promotion skips a delayed job whose record expired, was deleted or ended",
    "    if f.status == 'retrying' or f.status == 'queued' then",
    "    if true then", [E2("fail")]),
  m("v2-leave-window-ignored", V2("leave"), "a task whose workers' liveness window ended parks the job instead of deferring it",
    "  return until_ms ~= nil and until_ms >= now",
    "  return until_ms ~= nil", [E2("leave")]),
  m("v2-requeue-attempts-kept", V2("requeue"), "a requeued job starts again with a fresh attempt count (a 0)",
    "redis.call('HSET', key, 'e', readd(KEYS[2], j.id, f, 0, runs))",
    "redis.call('HSET', key, 'e', readd(KEYS[2], j.id, f, l.attempts or 0, runs))", [E2("dead")]),
  m("v2-finish-no-event", V2("finish"), "a finish writes one event naming its jobs (waiters wake on it)",
    "'*', 'type', 'finished', 'ids',",
    "'*', 'type', 'other', 'ids',", [E2("finish")]),
  // A queue-wide key of the wrong type is refused before any write (include/wrongtype.lua).
  m("v2-finish-type-unchecked", V2("finish"), "a finish refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E2("wrongtype")]),
  m("v2-enqueue-type-unchecked", V2("enqueue"), "a enqueue refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E2("wrongtype")]),
  m("v2-promote-type-unchecked", V2("promote"), "a promote refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E2("wrongtype")]),
  m("v2-claim-type-unchecked", V2("claim"), "a claim refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E2("wrongtype")]),
  m("v2-bury-type-unchecked", V2("bury"), "a bury refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E2("wrongtype")]),
  m("v2-leave-type-unchecked", V2("leave"), "a leave refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E2("wrongtype")]),
  m("v2-requeue-type-unchecked", V2("requeue"), "a requeue refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E2("wrongtype")]),
  m("v2-fail-type-unchecked", V2("fail"), "a fail refused over a queue-wide key of the wrong type writes nothing",
    "if wrong then return wrong end",
    "wrong = nil", [E2("fail")]),
  m("v2-fail-record-type-unguarded", V2("fail"), "a record that is not a hash fails its job for good as corrupt, never the batch",
    "local ok, q = pcall(redis.call, 'HGET', jprefix .. id, 'q')",
    "local ok, q = true, redis.call('HGET', jprefix .. id, 'q')", [E2("fail")]),
  // A full Redis: each rare-path script writes first with a command that takes no memory.
  m("v2-claim-takes-memory-first", V2("claim"), "a claim goes through on a full Redis (first write takes no memory)",
    "redis.call('PERSIST', KEYS[1]) -- a write that takes no memory first: a full Redis lets it run\n",
    "", [E2("full")],
    "on every path that writes, the claim's first write is XCLAIM (or, in own mode, XACK), which " +
    "Redis does not check against maxmemory either (no denyoom flag): a full Redis lets the claim " +
    "through without the PERSIST, which keeps that true when the script changes"),
  m("v2-fail-takes-memory-first", V2("fail"), "a failure is recorded on a full Redis (first write takes no memory)",
    "write_without_memory(KEYS[1])\n",
    "", [E2("full")]),
  m("v2-leave-takes-memory-first", V2("leave"), "a job is left for others on a full Redis (first write takes no memory)",
    "redis.call('PERSIST', KEYS[1]) -- the write that takes no memory (see above)\n",
    "", [E2("full")]),
  m("v2-release-takes-memory-first", V2("release"), "release at stop goes through on a full Redis (first write takes no memory)",
    "redis.call('PERSIST', KEYS[1]) -- the write that takes no memory (see above)\n",
    "", [E2("full")]),
  m("v2-bury-takes-memory-first", V2("bury"), "a bury goes through on a full Redis (first write takes no memory)",
    "redis.call('PERSIST', KEYS[1]) -- a write that takes no memory: a full Redis still buries\n",
    "", [E2("bury")]),
  m("v2-requeue-full-batch", V2("requeue"), "on a full Redis a requeue that would make a record from a letter is refused whole",
    "if creates then redis.call('HSETNX', KEYS[3], 'requeued', 0) end",
    "", [E2("full")]),
  m("v2-status-queued-before-started", "lib/engine/v2/status.ts", "a delivered job reads as started (with its owner), not queued: the pending list decides before the entry",
    "  if (pending) {\n",
    "  if (entry.size > 0 || due !== null) return base(\"queued\", a);\n  if (pending) {\n", [E2("status")]),
  // Reading back: the outcome decides before the record's status.
  m("v2-status-record-first", "lib/engine/v2/status.ts", "a job that has an outcome reads as finished or failed, whatever its record says",
    "  if (outcome !== null) {",
    "  if (outcome !== null && !record.has(\"status\")) {", [E2("status")]),
  // The entry check (lib/engine/v2/entry.ts): what the worker buries instead of running.
  m("v2-entry-max-zero", "lib/engine/v2/entry.ts", "an entry with max attempts below 1 is buried",
    "  if (m === null || m < 1) {",
    "  if (m === null) {", [E2("formats")]),
  m("v2-entry-used-up", "lib/engine/v2/entry.ts", "an entry whose attempts are used up (a >= m) is buried, not run",
    "  if (a >= m) return",
    "  if (a > m) return", [E2("formats")]),
  m("v2-entry-bad-id", "lib/engine/v2/entry.ts", "an entry whose `i` is no valid job id is buried",
    "const id = rawId === undefined ? entryId : isValidJobId(rawId) ? rawId : \"\";",
    "const id = rawId === undefined ? entryId : rawId;", [E2("formats")]),
];
