// The jobs a worker is running: launch each attempt (never two runs of one entry), watch their
// deadlines, cancel them, give them up (lease lost, stop) and wind down. What happens when an
// attempt ends, and the state both share, is the base class's (lib/worker/attempt-ends.ts).

import type { WorkerOptions } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { CanceledError } from "../errors.ts";
import { fenceOf } from "../fence/fence.ts";
import type { Logger } from "../log.ts";
import type { Redis } from "../redis/connect.ts";
import type { ParentOutcome, Task } from "../types.ts";
import { Attempt, GivenUp, runAttempt } from "./attempt.ts";
import { AttemptEnds } from "./attempt-ends.ts";
import { RecentIds } from "./cancels.ts";
import type { Startable } from "./entries.ts";
import type { Grace } from "./grace.ts";
import { ProgressWriter, RunSinks } from "./progress.ts";
import { type RunningJob, runningJob } from "./running-job.ts";

export class Jobs extends AttemptEnds {
  /** Running jobs' progress reports, coalesced (lib/worker/progress.ts). */
  readonly progress: ProgressWriter;
  /** The same shard's priority levels' jobs (lib/worker/worker-parts.ts): its heartbeat counts them. */
  levelViews: Jobs[] = [];
  /** A job's parents and their outcomes (TaskContext.parents(); lib/queue/parents.ts). */
  parentsOf?: (id: string) => AsyncIterable<ParentOutcome>;
  /**
   * Held entries whose give-back (lib/worker/prefetch.ts) is out or to be tried again: never
   * started here, even read again (own pending entries after a blip): the give-back decides.
   */
  readonly givingBack = new Set<string>();
  /** Jobs canceled lately: not started here (lib/worker/cancels.ts). */
  #canceled = new RecentIds();
  /**
   * Held entries whose job was canceled, by entry id: kept until the entry is launched or the
   * worker stops (RecentIds forgets the oldest of a large batch of cancels; these it may not).
   */
  #canceledHeld = new Set<string>();
  #ticker: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #tickMs = 0;

  constructor(
    /** The connections outcomes are written on (the worker's lanes), in turn. */
    clients: () => readonly Redis[],
    keys: QueueKeys,
    o: WorkerOptions,
    private readonly tasks: ReadonlyMap<string, Task>,
    log: Logger,
    onRedisError: (err: unknown, retryInMs?: number) => void,
  ) {
    super(clients, keys, o, log, onRedisError);
    this.progress = new ProgressWriter(() => clients()[0]!, keys, o, log);
  }

  /** Jobs running now, and those waiting for their start slot (a rate limit's). */
  get size(): number {
    return this.running.size + this.waits.size;
  }

  /** Jobs running (or waiting for their slot) or waiting for their outcome to be written. */
  get inFlight(): number {
    return this.size + this.writing.size;
  }

  /** Entry ids of every job running, waiting for its slot or for its outcome to be written. */
  entryIds(): string[] {
    const ids = [...this.running.keys(), ...this.writing.keys(), ...this.held.keys()];
    return this.waits.size === 0 ? ids : [...ids, ...this.waits.entryIds()];
  }

  /** Whether entry `entryId` runs here, waits for its start slot or for its outcome's write. */
  has(entryId: string): boolean {
    return this.running.has(entryId) || this.writing.has(entryId) || this.waits.has(entryId);
  }

  /**
   * Starts `job`'s attempt. `startedMono`: when, on performance.now(); a rate-limited job's is
   * the moment its slot was checked (lib/worker/limited.ts), which its task sees (`startedAt`).
   */
  launch(job: Startable, kind: "read" | "claim", startedMono = performance.now()): void {
    if (this.waits.size > 0) this.waits.take(job.entryId);
    if (this.givingBack.size > 0 && this.givingBack.has(job.entryId)) return;
    this.held.delete(job.entryId);
    // Never two runs of one entry in one worker, and nothing once the worker has closed.
    if (this.#closed || this.running.has(job.entryId) || this.writing.has(job.entryId)) return;
    const task = this.tasks.get(job.task);
    const limitMs = task?.timeoutMs ?? this.o.jobTimeoutMs;
    const running = runningJob(job, this.o.now(), startedMono);
    running.current = new Attempt(limitMs, (r) => this.ended(running, r));
    this.running.set(job.entryId, running);
    this.outcomes.startedSince++;
    this.#watchDeadlines(limitMs);
    if (kind === "claim") this.log.log("info", "claimed", { job: job.jobId, attempt: job.attempt });
    // Canceled before it started (held for a slot, or read just after the look saw it): it
    // never runs; its entry is acknowledged as any canceled job's (fail.lua finds the outcome).
    const canceledHeld = this.#canceledHeld.size > 0 && this.#canceledHeld.delete(job.entryId);
    if (canceledHeld || this.#canceled.has(job.jobId)) {
      this.#abortCanceled(running);
      return;
    }
    const { jobId: id, attempt, maxAttempts } = job;
    const sinks = new RunSinks(this.progress, id, limitMs, this.log, this.parentsOf);
    running.sinks = sinks;
    const info = {
      id,
      task: job.task,
      attempt,
      maxAttempts,
      fence: fenceOf(job.entryId, job.deliveries),
      startedAt: performance.timeOrigin + startedMono,
    };
    runAttempt(task, info, job.payload, running.current, sinks);
  }

  /**
   * A job was canceled (lib/worker/cancels.ts): if it runs here, its signal aborts with a
   * CanceledError; if it is held or comes later, it will not start.
   */
  cancel(jobId: string): void {
    this.#canceled.add(jobId);
    // Waiting for its start slot: launched now, and launch aborts it as canceled.
    for (const job of this.waits.jobs()) if (job.jobId === jobId) this.launch(job, "read");
    for (const job of this.running.values()) {
      if (job.jobId === jobId && !job.canceled) this.#abortCanceled(job);
    }
    for (const job of this.held.values()) {
      if (job.jobId !== jobId) continue;
      this.#canceledHeld.add(job.entryId);
      this.log.log("info", "canceled before it started", { job: jobId });
    }
  }

  #abortCanceled(job: RunningJob): void {
    job.canceled = true;
    job.current.abort(new CanceledError(job.jobId));
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
      for (const job of this.running.values())
        if (now >= job.current.deadline) job.current.timeOut();
    }, tickMs);
  }

  /** Stops the deadline ticker and refuses new jobs (the worker is stopping). */
  close(): void {
    this.#closed = true;
    this.waits.drop(true);
    this.held.clear();
    this.givingBack.clear();
    this.#canceledHeld.clear();
    this.progress.close();
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  /** Aborts a job whose lease another worker took; nothing is recorded for it. */
  giveUp(entryId: string, why: GivenUp["why"]): void {
    // Held, not started: another worker has it now, so it never starts here (Slots.wake).
    const held = this.held.get(entryId);
    if (held && why === "lease lost") {
      this.held.delete(entryId);
      this.#canceledHeld.delete(entryId);
      this.log.log("warn", "lease lost, held job dropped (another worker has it)", {
        job: held.jobId,
      });
    }
    const waiting = this.waits.undefer(entryId);
    if (waiting) this.onEnded(waiting);
    const job = this.running.get(entryId);
    if (!job) return;
    if (why === "lease lost") {
      this.log.log("warn", "lease lost, job given up (another worker has it)", { job: job.jobId });
    }
    job.current.abort(new GivenUp(why));
  }

  giveUpAll(why: GivenUp["why"]): void {
    for (const entryId of this.running.keys()) this.giveUp(entryId, why);
  }

  /**
   * The worker is stopping: running jobs may run until the grace period ends, then are given
   * up; then waits until `pastMs` after it at most for the outcomes to be written (the stop's
   * one deadline, lib/worker/stop.ts). A later stop that cuts the grace applies to both waits.
   */
  async windDown(grace: Grace, pastMs: number): Promise<void> {
    const graceMs = Math.max(0, grace.end - performance.now());
    // Not started yet: nothing to wait for; the stop releases their entries (no attempt spent).
    this.waits.drop();
    if (this.size > 0) {
      this.log.log("info", "stopping: waiting for jobs in flight", {
        inFlight: this.size,
        graceMs: Math.round(graceMs),
      });
      await grace.until(this.empty());
    }
    this.giveUpAll("shutdown");
    this.close();
    await grace.until(this.outcomes.drained(), pastMs);
  }
}
