// Failed attempts (docs/internals.md, "6. Fail and retry"): owns fail.lua's KEYS/ARGV order and its reply.
// When to retry and after how long is lib/worker/retry-policy.ts's decision; this writes it.
import type { Redis } from "../redis/connect.ts";
import { GROUP, MINUTES_KEPT, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

export interface FailedAttempt {
  /** The stream entry the run came from. */
  entry: string;
  /** The job id: the entry's `i`, or null for an auto id (the entry id and the shard's suffix). */
  id: string | null;
  /** The job has a record (`i` on the entry, or it came from a claim). */
  hasRecord: boolean;
  /** This run's number in the history (`n + 1` for a fresh delivery). */
  runNo: number;
  /** How long the run took, on the worker's monotonic clock. */
  runMs: number;
  error: string;
  /** Retry after this many ms (from Redis' TIME), or null: fail for good. */
  retryInMs: number | null;
  /**
   * Redis is full and the worker holds the job's slot: the attempt that failed, and the retry
   * runs again at once on this worker (its entry stays pending, its delivery count raised; no
   * record, delayed entry or back-off: README, "Redis memory"). Absent: as retryInMs says.
   */
  rerunAfter?: number;
}

export interface FailOptions {
  consumer: string;
  /** Seconds a failed value (and the record) is kept; null while Redis is full: letter only. */
  failureTtlS: number | null;
  deadMaxLen: number;
  eventsMaxLen: number;
  /** Starts made since this worker's last count (the `started` counter). */
  startedSince?: number;
}

/**
 * What became of each failure: retrying (later, through the delayed set), rerun (at once, on
 * this worker: rerunAfter), failed for good, left alone, or corrupt.
 */
export type FailCode = "retrying" | "rerun" | "failed" | "left" | "corrupt";
const CODES: Record<number, FailCode> = {
  1: "retrying",
  3: "rerun",
  2: "failed",
  0: "left",
  [-2]: "corrupt",
};

export async function failJobs(
  client: Redis,
  k: QueueKeys,
  o: FailOptions,
  items: readonly FailedAttempt[],
): Promise<FailCode[]> {
  const args: (string | number)[] = [k.resultPrefix, k.recordPrefix, GROUP, o.consumer];
  args.push(o.failureTtlS ?? 0, o.deadMaxLen, o.eventsMaxLen, MINUTES_KEPT, o.startedSince ?? 0);
  args.push(k.idSuffix);
  for (const f of items) {
    const delay = f.retryInMs === null ? -1 : Math.max(0, Math.round(f.retryInMs));
    args.push(f.entry, f.id ?? "", f.hasRecord ? 1 : 0, f.runNo, Math.round(f.runMs));
    args.push(f.error, delay, f.retryInMs === null ? 0 : (f.rerunAfter ?? 0));
  }
  const keys = [k.stream, k.delayed, k.dead, k.events, k.stats, k.minutes];
  keys.push(k.hasDependents, k.endedParents);
  const reply = await runScript<number[]>(client, scripts.fail, keys, args);
  return reply.map((c) => CODES[c] ?? "corrupt");
}
