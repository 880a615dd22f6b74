// Enqueueing: each job is checked and serialised here, then sent in batches through the engine's
// enqueue script (lib/engine/enqueue.ts: one XADD per job, the job in the stream entry).
// Bulk enqueue sends batches of `enqueueBatchSize` jobs (or `enqueueBatchBytes`), a few in flight
// at once (lib/queue/bulk.ts), each as one call per shard it has jobs for (lib/queue/route.ts).

import { MAX_ATTEMPTS_LIMIT } from "../config.ts";
import { type EnqueueJob, RECEIPT_TTL_MS } from "../engine/enqueue.ts";
import { callerIdProblem, LEVELS, type Level } from "../engine/keys.ts";
import { limitKeyProblem } from "../engine/limits.ts";
import { InputError } from "../errors.ts";
import { kindOf } from "../option-keys.ts";
import { synchronous, taskNameProblem } from "../task-check.ts";
import { wordCountLimitKey } from "../tasks/wordcount/limit-key.ts";
import { WORDCOUNT_TASK } from "../tasks/wordcount/name.ts";
import type { Task } from "../types.ts";
import { checkSpec } from "./call-args.ts";
import { payloadJson } from "./payload-json.ts";

export interface JobSpec {
  /** Task name, or the task itself (its `validate` then checks the payload first). */
  // biome-ignore lint/suspicious/noExplicitAny: a spec list mixes tasks of any payload type
  task: string | Task<any, unknown>;
  /** Any JSON value, at most 1000 levels of arrays and objects deep (PAYLOAD_DEPTH_MAX). */
  payload?: unknown;
  /**
   * Caller-given id: an idempotency key; a job with this id that exists is not re-added. Not
   * of the form of an id Courier makes (digits-digits, e.g. `1764423456789-0`), nor starting
   * with `sched:` (reserved for the jobs of recurring schedules).
   */
  id?: string;
  /**
   * Attempts before the job is dead-lettered (1 to 1,000,000); defaults to the queue's
   * `maxAttempts`.
   */
  maxAttempts?: number;
  /** Run no sooner than this many milliseconds from now (at most one year). */
  delayMs?: number;
  /**
   * Run no sooner than this time: ms since the epoch, or a Date. Judged on Redis' clock (the
   * enqueue script compares it with TIME, never this host's clock); a time already past runs at
   * once (with the next promotion, within `promoteEveryMs`). Not with `delayMs`; at most one
   * year ahead of this host's clock (a bound against mistakes, not a schedule).
   */
  runAt?: number | Date;
  /**
   * The job's priority within its queue: "high", "normal" (the default) or "low". A worker of
   * the queue takes high jobs first, then normal, then low (docs/internals.md, "Priority
   * levels"). A high or low job without an `id` is given one (a UUIDv7), as a delayed job is.
   */
  priority?: Level;
  /**
   * Ids of jobs of this queue this one waits for (at most 100,000; docs/internals.md,
   * "Dependencies and batches"): it is `waiting-for-parents`, in no stream, until every one has
   * ended, then queued. An unknown id (never enqueued, or its outcome expired) refuses the
   * enqueue. Given an id (a UUIDv7) when it has none. Not with `delayMs` or `runAt`.
   */
  dependsOn?: readonly string[];
  /**
   * When a parent fails for good or is canceled: "fail" (the default: this job fails too, with
   * the error `parent <id> failed`, and so do its own dependents) or "run" (it runs anyway; its
   * task reads how each parent ended with `ctx.parents()`).
   */
  onParentFailure?: "fail" | "run";
  /**
   * The job's limit key (e.g. a URL's host): at most `key_concurrency` jobs of one key run at
   * once and `key_rate` start per interval, across all workers (`queue limit`, docs/internals.md,
   * "Rate limits"). 1 to 256 bytes, no control characters. Absent: the task's `limitKey(payload)`
   * when the spec names the task itself, else none (only the queue-wide rate applies).
   */
  limitKey?: string;
}

export interface Enqueued {
  /**
   * The caller's id, or the one Courier gave the job: its first stream entry id, with its
   * shard's suffix on a queue of several shards (`<entry id>:<shard>`).
   */
  id: string;
  /** false when a job with this id already existed (nothing was added). */
  created: boolean;
}

/** A job checked and serialised, ready for a batch. */
export type Prepared = EnqueueJob;

/** The most attempts a job may be given. */
/** The longest delay a job may be given: one year. */
const DELAY_LIMIT_MS = 365 * 86_400_000;

/**
 * Checks and serialises a job spec; throws InputError (or the task's own error). Each check is a
 * step below, returning what it checked: this runs for every job of a bulk enqueue, so the
 * steps take and return plain values (no object per job but the one returned).
 */
export function prepareJob(
  spec: JobSpec,
  // scheduler: a schedule's tick job, whose id has the reserved prefix (callerIdProblem).
  o: { maxAttempts: number; scheduler?: boolean },
): Prepared {
  checkSpec(spec);
  const name = taskName(spec, o.scheduler);
  const payload =
    typeof spec.task !== "string" && spec.task.validate
      ? synchronous(spec.task.validate(spec.payload), name, "validate")
      : spec.payload;
  checkId(spec, o.scheduler);
  const max = checkMaxAttempts(spec.maxAttempts ?? o.maxAttempts);
  const delay = checkDelay(spec.delayMs ?? 0);
  const runAt = checkRunAt(spec);
  const level = checkLevel(spec.priority ?? "normal");
  const json = payloadJson(payload);
  const limitKey = limitKeyOf(spec, payload);
  const job: Prepared = {
    id: spec.id,
    task: name,
    payload: json,
    maxAttempts: max,
    // A delay, not a due time: the script adds it to Redis' clock (this host's may be off).
    delayMs: Math.max(delay, 0),
  };
  // Set only when there is one (no object spread: this runs for every job of a bulk enqueue).
  if (runAt !== undefined) job.runAt = runAt;
  if (level !== "normal") job.level = level;
  if (limitKey !== undefined) job.limitKey = limitKey;
  return job;
}

/** The spec's task name: the name given, or the task's own. */
function taskName(spec: JobSpec, scheduler: boolean | undefined): string {
  const { task } = spec;
  // null, a number: refused here, not a TypeError where `.name` is read.
  const name = typeof task === "object" && task !== null ? task.name : task;
  if (typeof name !== "string" || !name) {
    throw new InputError("a job needs a task name, or the task itself (defineTask)");
  }
  // A bulk enqueue repeats one name: it is checked once, not once a job. A schedule's tick is
  // not checked: a schedule saved by an earlier Courier fires under the name it was saved with.
  if (name === lastTaskName || scheduler) return name;
  const problem = taskNameProblem(name);
  if (problem) throw new InputError(problem);
  lastTaskName = name;
  return name;
}

/** The last task name taskName took (the rule is the same for every Queue). */
let lastTaskName = "";

/** A caller-given id, if any: a string of the allowed alphabet, not of an auto id's form. */
function checkId(spec: JobSpec, scheduler: boolean | undefined): void {
  if (spec.id !== undefined) {
    // A string only: 123 would be stored as "123", and the job read back under another type.
    if (typeof spec.id !== "string") {
      throw new InputError(`job id must be a string, got ${kindOf(spec.id)}`);
    }
    const problem = callerIdProblem(spec.id, scheduler);
    if (problem) throw new InputError(problem);
  }
}

/** The job's max attempts (the spec's, else the queue's), checked. */
function checkMaxAttempts(max: number): number {
  // Bounded here: a count a worker cannot read back (1e21 is stored as "1e+21") would be
  // enqueued, then dead-lettered as a corrupt entry at its first delivery.
  if (!Number.isInteger(max) || max < 1 || max > MAX_ATTEMPTS_LIMIT) {
    throw new InputError(
      `maxAttempts must be a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}, got ${kindOf(max)}`,
    );
  }
  return max;
}

/** The job's delay in ms (0 when none), checked. */
function checkDelay(delay: number): number {
  // Infinity (or NaN) would park the job forever; a year is far past any back-off or schedule.
  if (typeof delay !== "number" || !Number.isFinite(delay) || delay > DELAY_LIMIT_MS) {
    throw new InputError(
      `delayMs must be a number of milliseconds up to ${DELAY_LIMIT_MS} (one year), got ${kindOf(delay)}`,
    );
  }
  return delay;
}

/** The job's priority level ("normal" when none), checked. */
function checkLevel(level: Level): Level {
  if (!LEVELS.includes(level)) {
    throw new InputError(`priority must be high, normal or low, got ${JSON.stringify(level)}`);
  }
  return level;
}

/**
 * The spec's limit key, else its task's default for the payload: a Task's own, or, for a task
 * named only (a schedule's, `trigger`'s), the built-in word-count task's (a crawl scheduled by
 * name is polite per host too); other tasks named only have none. Checked (InputError).
 */
function limitKeyOf(spec: JobSpec, payload: unknown): string | undefined {
  const byName = (name: string) =>
    name === WORDCOUNT_TASK ? wordCountLimitKey(payload) : undefined;
  const { task } = spec;
  const key =
    spec.limitKey ??
    (typeof task === "string"
      ? byName(task)
      : synchronous(task.limitKey?.(payload), task.name, "limitKey"));
  if (key === undefined) return undefined;
  const problem = limitKeyProblem(key);
  if (problem) throw new InputError(problem);
  return key;
}

/** `runAt` as whole ms, checked: a Date or a number within a year of now; not with delayMs. */
function checkRunAt(spec: JobSpec): number | undefined {
  if (spec.runAt === undefined) return undefined;
  if (spec.delayMs !== undefined) throw new InputError("give delayMs or runAt, not both");
  const at = spec.runAt instanceof Date ? spec.runAt.getTime() : spec.runAt;
  // This host's clock bounds a mistake only (a year is far past any skew); the due time itself
  // is compared with Redis' TIME in the script.
  if (
    typeof at !== "number" ||
    !Number.isFinite(at) ||
    at < 0 ||
    at > Date.now() + DELAY_LIMIT_MS
  ) {
    throw new InputError(
      `runAt must be a time (ms since the epoch, or a Date) at most one year ahead, got ${kindOf(spec.runAt)}`,
    );
  }
  return Math.round(at);
}

/**
 * How long a batch's receipt is kept: past the last re-send the producer may make (it retries
 * for up to `retryWindowS`), plus a minute for the reply's way back; at least RECEIPT_TTL_MS.
 * A receipt gone before a re-send would let that re-send add the batch a second time.
 */
export function receiptTtlFor(retryWindowS: number): number {
  return Math.max(RECEIPT_TTL_MS, Math.ceil((retryWindowS + 60) * 1000));
}
