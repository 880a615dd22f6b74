import type { LogLevel } from "./log.ts";
import { checkTask } from "./task-check.ts";

// Glossary (the words used across Courier's code and docs; docs/internals.md tells the chain)
//
// job          One unit of work: a task name, a JSON payload, and what Redis keeps of it (its
//              stream entry while it waits or runs, its outcome `r:<id>` once it ends, and a
//              record `job:<id>` only when it needs one: a caller id, a delay, a retry, a claim).
// task         A named async function that runs a job's payload: `(payload, ctx, job) => result`,
//              ctx being the job's AbortSignal with its id, attempt, progress and logger.
// progress     What a running task last reported of itself (`ctx.progress`): a number 0-100 or
//              a small JSON object, written at most once per `progressMinIntervalMs`.
// queue        A named set of Redis keys (stream, delayed set, events, stats, …) under one hash
//              tag; a queue of N > 1 shards is N such sets, one tag each, spread over a cluster.
// shard        One of those sets: a complete sub-queue. A job's shard follows from its id.
// stream       The Redis stream of a shard; one entry per delivery, carrying the job itself
//              (task, payload, attempts used, max attempts: docs/internals.md, "The stream entry").
// group        The consumer group `workers` on the stream; every worker reads through it.
// consumer     One worker's name inside the group. Entries delivered to it are its pending ones.
// pending      Delivered to a consumer but not yet acknowledged (Redis' PEL).
// lease        A worker's claim on its pending entries, renewed with `XCLAIM … JUSTID` while
//              the job runs. A lease left unrenewed for `claimIdleMs` may be claimed by another.
// claim        Taking over another consumer's pending entry after its lease lapsed (`claim.lua`).
// ack          `XACK`: the entry is done (finished, failed, or moved to the delayed set).
// attempt      One start of a job: the entry's `a` (attempts used before it) plus Redis'
//              delivery count of the entry, so a start writes nothing and a crashed worker's
//              start still counts.
// fence        A run's fencing token: its entry id and delivery count as one growing number
//              (lib/fence/fence.ts), for a task's own store to refuse a superseded run's writes.
// delayed      Sorted set of job ids waiting for a retry back-off or a delayed enqueue.
// dead letter  An entry in the `dead` stream: a job that failed for good, with its last error.

/**
 * Status names, as shown by `result`. `scheduled`: enqueued with a delay (or a due time) that
 * has not come yet, by Redis' clock; a retry waiting on its back-off stays `retrying`.
 * `canceled`: ended by `cancel` (lib/engine/lua/cancel.lua).
 */
export type JobStatus =
  | "queued"
  | "scheduled"
  | "started"
  | "retrying"
  | "finished"
  | "failed"
  | "canceled"
  | "waiting-for-parents";

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set([
  "finished",
  "failed",
  "canceled",
]);

/** What a task sees of the job it runs. */
export interface JobInfo {
  id: string;
  task: string;
  /** 1 on the first run; counts every start, including ones a crashed worker never finished. */
  attempt: number;
  maxAttempts: number;
  /**
   * This run's fencing token: a decimal integer (up to 60 digits; compare with `compareFences`
   * or as SQL `numeric`, never as text or a JS number) larger for every later run of the job,
   * whether a claim after a lapsed lease, a retry, a release or a requeue. Pass it to your own
   * store to refuse writes from a run that lost its lease (README, "Fenced runs").
   */
  fence: string;
  /**
   * When the worker started this run: wall-clock ms since the epoch to a fraction of one, on
   * this host's clock (`performance.timeOrigin + performance.now()`, so comparable between the
   * processes of one host). For a rate-limited job, the moment the worker checked its slot, the
   * moment the limit bounds ("Rate limits" in docs/internals.md): the task is called right
   * after it, later when the process is descheduled meanwhile. Set by a worker and by runTask;
   * optional, so a JobInfo made by hand (a test calling `task.run` itself) need not have it.
   */
  startedAt?: number;
}

/** A progress value: a number from 0 to 100, or a JSON object of at most 1 KB. */
export type ProgressValue = number | Record<string, unknown>;

/**
 * A task's second argument: the attempt's AbortSignal itself (so `(payload, signal) =>
 * fetch(url, { signal })` works unchanged), with the job's facts, progress and logger on it.
 */
export interface TaskContext extends AbortSignal {
  /** This object: for `({ signal }) => …` destructuring and readability. */
  readonly signal: AbortSignal;
  readonly id: string;
  readonly task: string;
  /** 1 on the first run; counts every start, including ones a crashed worker never finished. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** This run's fencing token (JobInfo.fence; README, "Fenced runs"). */
  readonly fence: string;
  /**
   * Reports how far the job is: a finite number 0-100 or a JSON object of at most 1 KB (else a
   * TypeError). Coalesced: written at most once per `progressMinIntervalMs`, the last value
   * always (unless the job ends first), so calling it in a tight loop is fine.
   */
  progress(value: ProgressValue): void;
  /** The worker's logger with `job` and `task` bound. */
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
  /**
   * The jobs this one waited for (`JobSpec.dependsOn`, a batch's jobs for its callback), in the
   * order given, with how each ended; read from Redis a page (100) at a time, so a callback of
   * a batch of any size holds one page. Nothing for a job without parents.
   */
  parents(): AsyncIterable<ParentOutcome>;
}

/** How a parent of a job ended (TaskContext.parents()). */
export interface ParentOutcome {
  id: string;
  /** `unknown`: its outcome expired (resultTtlS / failureTtlS) before this read. */
  status: "finished" | "failed" | "canceled" | "unknown";
  /** The parent's result (finished), else null. */
  result: unknown;
  /** The parent's error (failed), else null. */
  error: string | null;
}

/** A task: a name and an async function of a JSON payload and its context (an AbortSignal). */
export interface Task<P = unknown, R = unknown> {
  name: string;
  run: (payload: P, ctx: TaskContext, job: JobInfo) => Promise<R>;
  /** Checks a payload at enqueue time; throws to refuse it (nothing is enqueued). */
  validate?: (payload: unknown) => P;
  /** Run-time limit for one attempt; overrides the worker's `jobTimeoutMs`. */
  timeoutMs?: number;
  /**
   * The limit key of a job enqueued with this task and no `JobSpec.limitKey` (e.g. a URL's
   * host: docs/internals.md, "Rate limits"); undefined: none.
   */
  limitKey?: (payload: P) => string | undefined;
}

/** Defines a task with its types inferred; one that cannot run is refused (ConfigError). */
export function defineTask<P, R>(task: Task<P, R>): Task<P, R> {
  checkTask(task);
  return task;
}

/** A job as read back from Redis. Times are wall-clock milliseconds since the epoch. */
export interface JobRecord {
  id: string;
  task: string;
  status: JobStatus;
  payload: unknown;
  attempts: number;
  maxAttempts: number;
  enqueuedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  worker: string | null;
  result: unknown;
  error: string | null;
  /** The last 20 attempts, oldest first (kept across a requeue from the dead letters). */
  history: AttemptRecord[];
  /**
   * When a `scheduled` job, or a `retrying` one waiting on its back-off, is due (ms, Redis'
   * clock); null otherwise.
   */
  runAt: number | null;
  /**
   * The last progress its task reported (`ctx.progress`) while it runs (`started`); null in any
   * other state (queued, waiting for a retry, ended) and for a job that reported none.
   */
  progress: unknown | null;
  /** Why a queued job is not running, e.g. `no live worker has task "resize"`. */
  note?: string;
  /** A high or low job's priority level (absent for normal: JobSpec.priority). */
  priority?: "high" | "low";
}

/** One attempt of a job, as recorded by the start, finish and fail scripts. */
export interface AttemptRecord {
  /** The job's attempt counter at this start (it starts again at 1 after a requeue). */
  attempt: number;
  worker: string | null;
  startedAt: number | null;
  /** null while it runs, or when its worker stopped and released it unfinished. */
  endedAt: number | null;
  error: string | null;
  /**
   * How it ended: finished, retrying (failed, will run again), failed (for good), abandoned
   * (its worker stopped during it: a claim found the lease lapsed) or released (its worker was
   * stopping and gave it back unfinished; the attempt is not counted).
   */
  outcome: "finished" | "retrying" | "failed" | "abandoned" | "released" | null;
}
