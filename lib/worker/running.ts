// The jobs a worker is running: launch each attempt, turn its outcome into a finish, a retry
// or a failure, hand that to the Settler, and free the slot once it is written. Log lines
// per job are written here, once the outcome is recorded.

import type { WorkerOptions } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { Logger } from "../log.ts";
import type { Redis } from "../redis/connect.ts";
import type { Task } from "../types.ts";
import { Attempt, type AttemptResult, GivenUp, runAttempt } from "./attempt.ts";
import type { Startable } from "./entries.ts";
import { CORRUPT, type OnSettled, type Outcome, Settler, UNRECORDED } from "./outcomes.ts";
import { backoffMs } from "./retry-policy.ts";

interface Running extends Startable {
  /** The attempt in progress: its signal, deadline and one-shot outcome report. */
  current: Attempt;
  startedMono: number;
}

export class Jobs {
  readonly settler: Settler;
  processed = 0;
  failed = 0;
  /** Called whenever a slot frees up. */
  onFreed: () => void = () => {};
  /** An outcome was written (script reply as in lib/worker/outcomes.ts). */
  onOutcome: OnSettled = () => {};
  #running = new Map<string, Running>();
  /**
   * Jobs whose attempt is over and whose outcome waits to be written. Their slot is already
   * free, so the next read overlaps with the write; they stay leased until it lands.
   */
  #settling = new Map<string, Running>();
  #emptied: (() => void)[] = [];
  #ticker: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #tickMs = 0;

  constructor(
    /** The connections outcomes are written on (the worker's lanes), in turn. */
    clients: () => readonly Redis[],
    keys: QueueKeys,
    private readonly o: WorkerOptions,
    private readonly tasks: ReadonlyMap<string, Task>,
    private readonly log: Logger,
    onRedisError: (err: unknown, retryInMs?: number) => void,
  ) {
    this.settler = new Settler(clients, keys, o, this.#onSettled, onRedisError);
  }

  /** Jobs running now. */
  get size(): number {
    return this.#running.size;
  }

  /** Jobs running or waiting for their outcome to be written. */
  get inFlight(): number {
    return this.#running.size + this.#settling.size;
  }

  /**
   * Slots free for new jobs. Outcomes waiting to be written (Redis slow or away) count against
   * them beyond `concurrency`, so what a worker holds stays bounded by twice its concurrency.
   */
  free(concurrency: number): number {
    return concurrency - this.#running.size - Math.max(0, this.#settling.size - concurrency);
  }

  /** Entry ids of every job running or waiting for its outcome to be written. */
  entryIds(): string[] {
    return [...this.#running.keys(), ...this.#settling.keys()];
  }

  launch(job: Startable, kind: "read" | "claim"): void {
    // Never two runs of one entry in one worker, and nothing once the worker has closed.
    if (this.#closed || this.#running.has(job.entryId) || this.#settling.has(job.entryId)) return;
    const task = this.tasks.get(job.task);
    const limitMs = task?.timeoutMs ?? this.o.jobTimeoutMs;
    const running: Running = {
      ...job,
      current: new Attempt(limitMs, (r) => this.#settle(running, r)),
      startedMono: performance.now(),
    };
    this.#running.set(job.entryId, running);
    this.#watchDeadlines(limitMs);
    if (kind === "claim") this.log.log("info", "claimed", { job: job.jobId, attempt: job.attempt });
    const { jobId: id, attempt, maxAttempts } = job;
    runAttempt(task, { id, task: job.task, attempt, maxAttempts }, job.payload, running.current);
  }

  /**
   * One ticker checks every running job's deadline, instead of a timer per job. It ticks at a
   * tenth of the shortest time limit seen (5 ms to 1 s), so an attempt ends at most 10% late.
   */
  #watchDeadlines(limitMs: number): void {
    const tickMs = Math.min(1_000, Math.max(5, Math.floor(limitMs / 10)));
    if (this.#ticker && this.#tickMs <= tickMs) return;
    clearInterval(this.#ticker);
    this.#tickMs = tickMs;
    this.#ticker = setInterval(() => {
      const now = performance.now();
      for (const job of this.#running.values())
        if (now >= job.current.deadline) job.current.timeOut();
    }, tickMs);
  }

  /** Stops the deadline ticker and refuses new jobs (the worker is stopping). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  /** Aborts a job whose lease another worker took; nothing is recorded for it. */
  giveUp(entryId: string, why: GivenUp["why"]): void {
    const job = this.#running.get(entryId);
    if (!job) return;
    if (why === "lease lost") {
      this.log.log("warn", "lease lost, job given up (another worker has it)", { job: job.jobId });
    }
    job.current.abort(new GivenUp(why));
  }

  giveUpAll(why: GivenUp["why"]): void {
    for (const entryId of this.#running.keys()) this.giveUp(entryId, why);
  }

  /** Resolves when nothing is running (at once if nothing is). */
  empty(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptied.push(resolve));
  }

  #settle(job: Running, r: AttemptResult): void {
    const { entryId, jobId } = job;
    if ("givenUp" in r) {
      this.#free(entryId);
      return;
    }
    if (r.ok) {
      this.settler.add({ kind: "finish", entryId, jobId, run: job.run, result: r.result });
    } else {
      this.#fail(job, r.error, r.permanent, r.retryAfterMs);
    }
    this.#settling.set(entryId, job);
    this.#free(entryId);
  }

  #fail(job: Running, error: string, permanent: boolean, retryAfterMs?: number): void {
    const { entryId, jobId } = job;
    const last = permanent || job.attempt >= job.maxAttempts;
    const retryInMs = last ? -1 : retryDelayMs(retryAfterMs, job.attempt, this.o);
    this.settler.add({ kind: "fail", entryId, jobId, run: job.run, error, retryInMs });
  }

  #onSettled = (outcome: Outcome, reply: number): void => {
    const job = this.#settling.get(outcome.entryId);
    const fields = {
      job: outcome.jobId,
      task: job?.task,
      ms: job ? Math.round(performance.now() - job.startedMono) : undefined,
      attempt: job ? `${job.attempt}/${job.maxAttempts}` : undefined,
    };
    if (outcome.kind === "finish") {
      this.processed++;
      const bad = reply === CORRUPT || reply === UNRECORDED;
      this.log.log(bad ? "error" : "info", FINISHED[reply] ?? "finished", fields);
    } else {
      this.failed++;
      const level = reply === 2 || reply === CORRUPT || reply === UNRECORDED ? "error" : "warn";
      this.log.log(level, FAILED[reply] ?? "failed", { ...fields, error: outcome.error });
    }
    this.#settling.delete(outcome.entryId);
    this.onOutcome(outcome, reply);
    this.onFreed();
  };

  #free(entryId: string): void {
    this.#running.delete(entryId);
    this.onFreed();
    if (this.#running.size === 0) for (const resolve of this.#emptied.splice(0)) resolve();
  }
}

/**
 * A task's own retry delay (a server's Retry-After) is kept within [0, backoffMaxMs]: a hostile
 * or broken server must not park a job for years. Not a finite number: the usual back-off.
 */
export function retryDelayMs(asked: number | undefined, attempt: number, o: WorkerOptions): number {
  if (asked === undefined || !Number.isFinite(asked)) return backoffMs(attempt, o, o.random);
  return Math.min(Math.max(0, asked), o.backoffMaxMs);
}

/** Log events by script reply (see finish-5.lua and fail-6.lua). */
const FINISHED: Record<number, string> = {
  1: "finished",
  0: "finished (duplicate run, first result kept)",
  [-1]: "finished (job record gone)",
  [CORRUPT]: "corrupt record: result not recorded, entry acknowledged",
  [UNRECORDED]: "result not recorded; entry left pending for a claim",
};
const FAILED: Record<number, string> = {
  1: "failed, will retry",
  2: "failed",
  0: "failed (job already ended)",
  [-1]: "failed (job record gone)",
  [CORRUPT]: "corrupt record: failure not recorded, entry acknowledged",
  [UNRECORDED]: "failure not recorded; entry left pending for a claim",
};
