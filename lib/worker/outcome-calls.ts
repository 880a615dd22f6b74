// The outcome calls as the writer (lib/worker/outcome-writes.ts) makes them, and what it does when
// Redis refuses one over a single record: split the batch, or set the entry aside.
import { ErrorReply } from "@redis/client";
import type { WorkerOptions } from "../config.ts";
import { buryEntries } from "../engine/bury.ts";
import { failJobs } from "../engine/fail.ts";
import { callerIdOf, GROUP, HANDOVER_SUFFIX, type QueueKeys } from "../engine/keys.ts";
import { clipError } from "../errors.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import type { Failure } from "./outcomes.ts";

/**
 * The reply for an outcome key that holds another type (corrupt), or an outcome no script call
 * could record whose job has no record to lose (OutcomeWrites.#giveUp): its entry is acknowledged,
 * nothing recorded.
 */
export const CORRUPT = -2;

/**
 * An outcome no script call could record although its job record is a hash: its entry is not
 * acknowledged (that would lose the job) but handed over to `<name>~gone` (handOverForClaim),
 * and claimed after claimIdleMs, when the claim hands the job to a worker again.
 */
export const UNRECORDED = -3;

/**
 * A call refused after it wrote (Redis does not roll a script back: one that fails late, e.g.
 * at its event's XADD on a stream with no ids left, keeps what it wrote): the job has its
 * outcome, or its entry is acknowledged. The entry is acknowledged (safe: the job has ended or
 * its retry is written) and the log says so, not "not recorded".
 */
export const WRITTEN = -4;

/**
 * An outcome no script call could record whose job has no record (its entry is the job): the
 * job is dead-lettered from its entry with Redis' refusal (bury.lua), so a result too large for
 * Redis, or a failure whose letter a broken key refused, never makes the job vanish.
 */
export const BURIED = -5;

/**
 * An outcome given up whose entry is no longer this worker's (another took it over, or the job
 * has ended): left to whoever has it.
 */
export const NOT_MINE = -6;

/**
 * A retry on a full Redis that runs again at once on this worker, in the slot it held
 * (fail.lua's run_again): nothing written that takes memory.
 */
export const RERUN = 3;

/**
 * Replies as the writer reports them: 1 retry, RERUN at once here, 2 failed for good, 0 left
 * alone, CORRUPT.
 */
const FAIL_CODES = { retrying: 1, rerun: RERUN, failed: 2, left: 0, corrupt: CORRUPT } as const;

/** Writes a batch of failures (fail.lua); `compact` while Redis is full (letter only). */
export async function failBatch(
  client: Redis,
  keys: QueueKeys,
  o: WorkerOptions,
  items: readonly Failure[],
  w: { compact: boolean; started: number },
): Promise<number[]> {
  const failures = items.map((f) => ({
    entry: f.entryId,
    id: callerIdOf(keys, f.entryId, f.jobId),
    hasRecord: f.job.hasRecord,
    runNo: f.job.runNo,
    runMs: f.runMs,
    error: f.error,
    retryInMs: f.retryInMs,
    rerunAfter: f.rerun ? f.job.attempt : undefined,
  }));
  const fo = { consumer: o.name, failureTtlS: w.compact ? null : o.failureTtlS };
  const limits = { deadMaxLen: o.deadMaxLen, eventsMaxLen: o.eventsMaxLen };
  const codes = await failJobs(
    client,
    keys,
    { ...fo, ...limits, startedSince: w.started },
    failures,
  );
  return codes.map((c) => FAIL_CODES[c]);
}

/**
 * An error reply over one record (a script error, a wrong type under a job key) rather than
 * Redis' state (out of memory, loading, read-only, no permission) or a queue-wide key of the
 * wrong type (wrong_type in lib/engine/lua/include/wrongtype.lua: nothing was written, and no one job is at
 * fault): the call is worth splitting, so only the bad record is set aside.
 */
export function refusedOverOneRecord(err: unknown): boolean {
  if (!(err instanceof ErrorReply)) return false;
  return /^(ERR|WRONGTYPE)\b/.test(err.message) && !/^ERR courier: key /.test(err.message);
}

/**
 * Whether a call that was refused wrote anyway (WRITTEN): the job's outcome key holds its
 * outcome, or its entry is no longer pending. An outcome found with the entry still pending
 * has its entry acknowledged and removed here, as the call would have.
 */
export async function writtenAnyway(
  client: Redis,
  keys: QueueKeys,
  entryId: string,
  jobId: string,
): Promise<boolean> {
  const [type, pending] = await Promise.all([
    jobId ? client.sendCommand<string>(["TYPE", keys.result(jobId)]) : "none",
    client.sendCommand<unknown>(["XPENDING", keys.stream, GROUP, entryId, entryId, "1"]),
  ]);
  const acknowledged = Array.isArray(pending) && pending.length === 0;
  if (String(type) !== "string") return acknowledged;
  if (!acknowledged) await ackAndDelete(client, keys, entryId);
  return true;
}

function ackAndDelete(client: Redis, keys: QueueKeys, entryId: string): Promise<unknown> {
  return Promise.all([
    client.sendCommand(["XACK", keys.stream, GROUP, entryId]),
    client.sendCommand(["XDEL", keys.stream, entryId]),
  ]);
}

/**
 * Settles an entry no outcome call could record, when its job has no record (the key is not a
 * hash, or gone: the entry is all there is of the job): dead-lettered from the entry, the
 * letter saying `corrupt record: outcome not recorded: <Redis' refusal>` (requeue-able), and
 * acknowledged; BURIED, or NOT_MINE when the entry is no longer pending on this worker. A job
 * with a record, or one the burial was refused for too (the dead stream broken), is kept:
 * null, and the caller hands its entry over for a claim (handOverForClaim).
 */
export async function buryIfNoRecord(
  client: Redis,
  keys: QueueKeys,
  o: WorkerOptions,
  item: { entryId: string; jobId: string; attempt: number; compact: boolean },
  refusal: unknown,
): Promise<number | null> {
  const { entryId, jobId } = item;
  const type = jobId ? await client.sendCommand<string>(["TYPE", keys.record(jobId)]) : "none";
  if (String(type) === "hash") return null;
  const burial = {
    entryId,
    // The job's id, an auto one too: bury.lua writes its failed value under it (r:<id>), so
    // `result` and waits see the job end; '' (no id known) writes the letter only.
    id: jobId,
    problem: `outcome not recorded: ${clipError(describeCause(refusal))}`,
    attempt: item.attempt, // the attempt that ran (the entry's `a` counts those before it)
  };
  const bo = { consumer: o.name, failureTtlS: item.compact ? 0 : o.failureTtlS };
  const limits = { deadMaxLen: o.deadMaxLen, eventsMaxLen: o.eventsMaxLen };
  const codes = await buryEntries(client, keys, { ...bo, ...limits }, [burial]).catch(() => null);
  if (codes === null) return null;
  return codes[0] === 0 ? NOT_MINE : BURIED;
}

/**
 * Moves an entry this worker gave up over one record to `<name>~gone`, as a dead predecessor's
 * (lib/worker/presence.ts handOverPredecessor), so that its next run comes through a claim,
 * which raises its delivery count: the attempt and the fence one up. Left pending on the name,
 * only the worker's own read (after a lost reply) would run it again, with the same count, so
 * the same attempt and fence as the run just given up (docs/internals.md, "Fenced runs").
 * `XCLAIM … JUSTID` bumps no count; an entry another worker holds by now is left to it.
 */
export async function handOverForClaim(
  client: Redis,
  keys: QueueKeys,
  name: string,
  entryId: string,
): Promise<void> {
  const range = [keys.stream, GROUP, entryId, entryId, "1"];
  const pending = await client.sendCommand<[string, string][]>(["XPENDING", ...range]);
  if (pending?.[0]?.[1] !== name) return;
  const ghost = `${name}${HANDOVER_SUFFIX}`;
  await client.sendCommand(["XCLAIM", keys.stream, GROUP, ghost, "0", entryId, "JUSTID"]);
}
