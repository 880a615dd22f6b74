// A task said "slow down" (HeldError, code EHELD: the word-count task on a 429, or a 503 with
// Retry-After): the job's limit key is held for the asked time on every worker (holdKey,
// queue tag), and the job gives its slot back until the hold ends (hold.lua, shard tag: two
// calls, since on a cluster the two tags may live on two nodes), SPENDING NO ATTEMPT and
// writing no run, as a job held back by a rate limit (lib/worker/limited.ts). Other keys keep
// running. A job without a key is given back alone. A HeldError naming another key (the
// word-count task's 429 from a redirect's target on another host) holds that key, and the job
// only waits the hold out: its own key is not held. The record's `task_holds` counts these
// holds; past maxHolds the answer fails the job for good, saying so, so a host that always
// answers 429 ends its jobs instead of holding them for ever. docs/internals.md, "Rate limits".
import type { WorkerOptions } from "../config.ts";
import { type HoldVerdict, holdEntries } from "../engine/hold.ts";
import { HOLD_MAX_MS } from "../engine/hold-key.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { limitKeyProblem } from "../engine/limits.ts";
import type { Logger } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import { redisNowMs } from "../redis/clock.ts";
import { onNodeOf } from "../redis/cluster.ts";
import type { Redis } from "../redis/connect.ts";
import type { Startable } from "./entries.ts";
import { backoffMs } from "./retry-policy.ts";

/** The record's field counting a job's holds by its task (HeldError). */
export const TASK_HOLDS_FIELD = "task_holds";

export interface HeldParts {
  client: () => Redis;
  /** The shard's keys (its level's: the job waits in that level's delayed set). */
  keys: QueueKeys;
  o: WorkerOptions;
  log: Logger;
  /**
   * Holds a limit key for ms on every worker, this one at once (QueueLimits.holdKey); returns
   * the hold's end (Redis' ms).
   */
  holdKey: (key: string, ms: number) => Promise<number>;
}

/** What a task's HeldError asked: how long (undefined: the back-off), which key, its message. */
export interface TaskHold {
  askedMs: number | undefined;
  /** The key to hold instead of the job's own (HeldError's `key`); a bad one is not used. */
  key: string | undefined;
  error: string;
}

/** How a task's hold ended: written (nothing else to do), or a failure to record instead. */
export type HeldOutcome = { held: true } | { held: false; error: string; permanent: boolean };

/**
 * Holds the asked key (else `job`'s) for `askedMs` (undefined: the retry back-off, by the job's
 * holds so far) and gives the job back until then. `error` is the task's message. Throws when
 * Redis could not be reached: the caller then records an ordinary failure (the entry is still
 * pending here).
 */
export async function holdForTask(
  p: HeldParts,
  job: Startable,
  ask: TaskHold,
): Promise<HeldOutcome> {
  const { askedMs, error } = ask;
  const client = p.client();
  const record = p.keys.record(job.jobId);
  // Read, not raised: a hold is counted once it is known to apply, below. A fresh job has no
  // record and has never been held (a job given back always comes with `i`).
  // A count that is not one (a hand-edited field) is taken as the cap reached: the job fails
  // for good saying so, rather than NaN passing every test and the hold failing each time.
  const raw = job.hasRecord
    ? await client.sendCommand<string | null>(["HGET", record, TASK_HOLDS_FIELD])
    : null;
  const counted = Number(raw ?? 0);
  const holds = Number.isSafeInteger(counted) && counted >= 0 ? counted : p.o.maxHolds;
  if (holds >= p.o.maxHolds) {
    const times = holds === 1 ? "time" : "times";
    const why = `held ${holds} ${times} by its task, the most a job may be (maxHolds ${p.o.maxHolds})`;
    return { held: false, error: `${error} (${why}: failed for good)`, permanent: true };
  }
  const ms = holdMs(askedMs, holds, p.o);
  const key = heldKeyOf(p.log, job, ask);
  const dueMs =
    key === undefined
      ? (await redisNowMs(onNodeOf(client, p.keys.meta))) + ms
      : await p.holdKey(key, ms);
  const [verdict] = await holdEntries(client, p.keys, p.o.name, [{ entryId: job.entryId, dueMs }]);
  // Given back by this call: counted (hold.lua made the record of a fresh job). A stale run's
  // entry is another's now ('gone', 'done'): nothing counted on that run's job.
  if (verdict === "held" || verdict === "back") await countHold(p, job, record);
  logHeld(p.log, job, { key, ms, holds: holds + 1, verdict: verdict ?? "gone", error });
  return { held: true };
}

/**
 * A hold's length: the task's time (Infinity: the longest hold), never under the retry
 * back-off by the job's holds so far, so a Retry-After of 0 (or a date past) does not spend
 * every hold in a burst. A hold is not an attempt: not kept within backoffMaxMs; HOLD_MAX_MS
 * (a day) at most.
 */
export function holdMs(askedMs: number | undefined, holds: number, o: WorkerOptions): number {
  const floor = backoffMs(holds + 1, o, o.random);
  if (askedMs === undefined || Number.isNaN(askedMs)) return floor;
  return Math.min(HOLD_MAX_MS, Math.max(floor, Math.ceil(askedMs)));
}

/** Counts a hold that applied; a count lost to Redis is logged (the hold stands, no attempt). */
async function countHold(p: HeldParts, job: Startable, record: string): Promise<void> {
  try {
    await p.client().sendCommand(["HINCRBY", record, TASK_HOLDS_FIELD, "1"]);
  } catch (err) {
    p.log.log("warn", "held, but its hold could not be counted", {
      job: job.jobId,
      error: describeCause(err),
    });
  }
}

/** The key a hold applies to: the task's own choice when usable, else the job's limit key. */
function heldKeyOf(log: Logger, job: Startable, ask: TaskHold): string | undefined {
  if (ask.key === undefined || ask.key === job.limitKey) return job.limitKey;
  const problem = limitKeyProblem(ask.key);
  if (problem === null) return ask.key;
  log.log("warn", "HeldError's key refused: the job's own key is held", {
    job: job.jobId,
    problem,
  });
  return job.limitKey;
}

function logHeld(
  log: Logger,
  job: Startable,
  f: { key: string | undefined; ms: number; holds: number; verdict: HoldVerdict; error: string },
): void {
  log.log("info", "held by its task (no attempt spent)", {
    job: job.jobId,
    key: f.key ?? null,
    holdMs: f.ms,
    holds: f.holds,
    verdict: f.verdict,
    error: f.error,
  });
}
