// The jobs a worker is running: launch each attempt, turn its outcome into a finish, a retry
// or a failure, hand that to Outcomes (the writer), and free the slot once it is written. Log lines
// per job are written here, once the outcome is recorded.

import type { WorkerOptions } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { CanceledError } from "../errors.ts";
import { fenceOf } from "../fence/fence.ts";
import { type Logger, silentLogger, throttled } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { within } from "../time.ts";
import type { ParentOutcome, Task } from "../types.ts";
import { Attempt, type AttemptResult, GivenUp, runAttempt } from "./attempt.ts";
import { RecentIds } from "./cancels.ts";
import { type Startable, startable } from "./entries.ts";
import type { HeldOutcome, TaskHold } from "./held.ts";
import {
  CORRUPT,
  type Failure,
  type OnWritten,
  type Outcome,
  Outcomes,
  RERUN,
  UNRECORDED,
  WRITTEN,
} from "./outcomes.ts";
import { ProgressWriter, RunSinks } from "./progress.ts";
import { retryInMs } from "./retry-policy.ts";
import { SlotWaits } from "./waits.ts";
import { WrittenLog } from "./written.ts";

interface RunningJob extends Startable {
  /** The attempt in progress: its signal, deadline and one-shot outcome report. */
  current: Attempt;
  startedMono: number;
  /**
   * The worker's own clock (`now`) at launch: the run time written with the outcome is a
   * difference on one host's clock (never compared with another's: the end time is Redis').
   */
  startedAt: number;
  /** Its job was canceled (lib/worker/cancels.ts): the outcome is ignored, logged as such. */
  canceled?: boolean;
  /** Where its context's progress and log lines go; ends its progress reports. */
  sinks: RunSinks | null;
}

export class Jobs {
  readonly outcomes: Outcomes;
  /** Running jobs' progress reports, coalesced (lib/worker/progress.ts). */
  readonly progress: ProgressWriter;
  processed = 0;
  failed = 0;
  /** The same shard's priority levels' jobs (lib/worker/worker.ts): its heartbeat counts them. */
  levelViews: Jobs[] = [];
  /**
   * A read that does not block is in flight (lib/worker/take.ts Source.reading): jobs it brings
   * may end in the turn a finish ends, so that finish waits for the turn to share their write.
   */
  readsInFlight: () => boolean = () => false;
  /** Called whenever a slot frees up. */
  onFreed: () => void = () => {};
  /** A job's parents and their outcomes (TaskContext.parents(); lib/queue/parents.ts). */
  parentsOf?: (id: string) => AsyncIterable<ParentOutcome>;
  /** An outcome was written (script reply as in lib/worker/outcomes.ts). */
  onOutcome: OnWritten = () => {};
  /**
   * A failed attempt will be retried: hold its slot for a rerun at once (true) when Redis is
   * full (lib/worker/loops.ts holdForReruns); `releaseRerun` hands the slot back once written.
   */
  holdRerun: () => boolean = () => false;
  releaseRerun: () => void = () => {};
  /**
   * Entries delivered while every slot was busy (a worker of several shards: lib/worker/slots.ts;
   * prefetched ones: lib/worker/prefetch.ts), started first when a slot frees. Leased as running
   * ones are; a stop releases them.
   */
  readonly held = new Map<string, Startable>();
  /**
   * Held entries whose give-back (lib/worker/prefetch.ts) is out or to be tried again: never
   * started here, even read again (own pending entries after a blip): the give-back decides.
   */
  readonly givingBack = new Set<string>();
  /** Outcomes written, as a claim out meanwhile needs to know them (lib/worker/written.ts). */
  readonly written = new WrittenLog();
  /**
   * A job's attempt ended, or a job waiting for its start slot was dropped: its limit key's
   * running slot frees (lib/worker/limited.ts).
   */
  onEnded: (job: Startable) => void = () => {};
  /**
   * A task threw HeldError: its key is held and the job given back, spending no attempt
   * (lib/worker/held.ts). Null, or a hold that could not be written: an ordinary failure.
   */
  onHeld: ((job: Startable, ask: TaskHold) => Promise<HeldOutcome>) | null = null;
  /** Jobs read under a rate limit, waiting for their start slot: counted as running, leased. */
  readonly waits = new SlotWaits(
    () => this.onFreed(),
    (job) => this.onEnded(job),
  );
  #running = new Map<string, RunningJob>();
  /**
   * Jobs whose attempt is over and whose outcome waits to be written. Their slot is already
   * free, so the next read overlaps with the write; they stay leased until it lands.
   */
  #writing = new Map<string, RunningJob>();
  #emptied: (() => void)[] = [];
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
    private readonly o: WorkerOptions,
    private readonly tasks: ReadonlyMap<string, Task>,
    private readonly log: Logger,
    onRedisError: (err: unknown, retryInMs?: number) => void,
  ) {
    this.outcomes = new Outcomes(clients, keys, o, this.#onWritten, onRedisError);
    this.progress = new ProgressWriter(() => clients()[0]!, keys, o, log);
    const unreplicated = throttled(log, "outcomes not confirmed by a replica");
    this.outcomes.onUnreplicated = (count) =>
      unreplicated({
        count,
        waitMs: o.replicaWaitMs,
        risk: "lost if the master fails now: the jobs would run again",
      });
  }

  /** Jobs running now, and those waiting for their start slot (a rate limit's). */
  get size(): number {
    return this.#running.size + this.waits.size;
  }

  /** Jobs running (or waiting for their slot) or waiting for their outcome to be written. */
  get inFlight(): number {
    return this.size + this.#writing.size;
  }

  /** Entry ids of every job running, waiting for its slot or for its outcome to be written. */
  entryIds(): string[] {
    const ids = [...this.#running.keys(), ...this.#writing.keys(), ...this.held.keys()];
    return this.waits.size === 0 ? ids : [...ids, ...this.waits.entryIds()];
  }

  /** Whether entry `entryId` runs here, waits for its start slot or for its outcome's write. */
  has(entryId: string): boolean {
    return this.#running.has(entryId) || this.#writing.has(entryId) || this.waits.has(entryId);
  }

  launch(job: Startable, kind: "read" | "claim"): void {
    if (this.waits.size > 0) this.waits.take(job.entryId);
    if (this.givingBack.size > 0 && this.givingBack.has(job.entryId)) return;
    this.held.delete(job.entryId);
    // Never two runs of one entry in one worker, and nothing once the worker has closed.
    if (this.#closed || this.#running.has(job.entryId) || this.#writing.has(job.entryId)) return;
    const task = this.tasks.get(job.task);
    const limitMs = task?.timeoutMs ?? this.o.jobTimeoutMs;
    const running = runningJob(job, this.o.now());
    running.current = new Attempt(limitMs, (r) => this.#ended(running, r));
    this.#running.set(job.entryId, running);
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
    for (const job of this.#running.values()) {
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
      for (const job of this.#running.values())
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

  /**
   * The worker is stopping: running jobs get `graceMs` to end, then are given up; then waits
   * (up to graceMs plus one reconnect) for the outcomes to be written.
   */
  async windDown(graceMs: number, reconnectMaxMs: number): Promise<void> {
    // Not started yet: nothing to wait for; the stop releases their entries (no attempt spent).
    this.waits.drop();
    if (this.size > 0) {
      this.log.log("info", "stopping: waiting for jobs in flight", {
        inFlight: this.size,
        graceMs,
      });
      await within(this.empty(), graceMs);
    }
    this.giveUpAll("shutdown");
    this.close();
    await within(this.outcomes.drained(), graceMs + reconnectMaxMs);
  }

  /** Resolves when nothing is running (at once if nothing is). */
  empty(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptied.push(resolve));
  }

  #ended(job: RunningJob, r: AttemptResult): void {
    const { entryId, jobId } = job;
    // Nothing else runs, waits to start or is being read here (this job still counts among the
    // running): no other outcome can join this one's write, which need not wait for the turn.
    const alone =
      this.#running.size === 1 &&
      this.waits.size === 0 &&
      this.held.size === 0 &&
      !this.readsInFlight();
    job.sinks?.end();
    this.onEnded(job);
    if ("givenUp" in r) {
      this.#free(entryId);
      return;
    }
    const runMs = Math.max(0, this.o.now() - job.startedAt);
    if (r.ok) {
      // Built field by field: an object spread per job showed in the no-op profile. The running
      // job itself is the finish's job (its fields are not changed from here on: no copy).
      this.outcomes.add({ kind: "finish", entryId, jobId, job, runMs, result: r.result }, alone);
    } else if (r.held && this.onHeld && !job.canceled) {
      const run = startable(job, job.attempt, job.runNo, job.deliveries);
      void this.#held(job, { entryId, jobId, job: run, runMs }, r);
    } else {
      const run = startable(job, job.attempt, job.runNo, job.deliveries);
      const retryIn = retryInMs(
        { ...job, permanent: r.permanent, retryAfterMs: r.retryAfterMs },
        this.o,
      );
      // A canceled job's failure only acknowledges its entry (fail.lua: it has an outcome):
      // no slot is held for a rerun.
      const rerun = retryIn !== null && !job.canceled && this.holdRerun();
      const base = { entryId, jobId, job: run, runMs };
      this.outcomes.add(
        { kind: "fail", ...base, error: r.error, retryInMs: retryIn, rerun },
        alone,
      );
    }
    this.#writing.set(entryId, job);
    this.#free(entryId);
  }

  /**
   * Holds a job whose task said "slow down"; it stays leased (in #writing) until the hold is
   * written, as an outcome does. A hold refused (holds used up) or not written is a failure.
   */
  async #held(
    job: RunningJob,
    base: Pick<Failure, "entryId" | "jobId" | "job" | "runMs">,
    r: { error: string; retryAfterMs?: number; heldKey?: string },
  ): Promise<void> {
    let outcome: HeldOutcome;
    try {
      const ask = { askedMs: r.retryAfterMs, key: r.heldKey, error: r.error };
      outcome = await this.onHeld!(base.job, ask);
    } catch (err) {
      this.log.log("warn", "could not hold the job's key: recorded as a failed attempt", {
        job: job.jobId,
        error: describeCause(err),
      });
      outcome = { held: false, error: r.error, permanent: false };
    }
    if (!outcome.held) {
      const f = { ...job, permanent: outcome.permanent, retryAfterMs: r.retryAfterMs };
      const retryIn = retryInMs(f, this.o);
      this.outcomes.add({ kind: "fail", ...base, error: outcome.error, retryInMs: retryIn });
      return;
    }
    this.#writing.delete(base.entryId);
    this.held.delete(base.entryId);
    this.written.add(base.entryId);
    this.onFreed();
  }

  #onWritten = (outcome: Outcome, reply: number): void => {
    const job = this.#writing.get(outcome.entryId);
    const canceled = job?.canceled === true && reply === 0;
    if (!canceled && outcome.kind === "finish") this.processed++;
    else if (!canceled) this.failed++;
    // A silent logger (the library's default) gets no line: its fields are not built per job.
    if (this.log !== silentLogger) this.#logWritten(outcome, reply, job, canceled);
    this.#writing.delete(outcome.entryId);
    // A claim that raced this write may have brought the entry again (lib/worker/written.ts):
    // one waiting for a slot is dropped, one still on its way is skipped by its fetch.
    this.held.delete(outcome.entryId);
    this.written.add(outcome.entryId);
    if (outcome.kind === "fail" && outcome.rerun) {
      // The next attempt, in the slot held for it (its entry is still pending here).
      if (reply === RERUN && job) this.launch(nextAttempt(job), "read");
      this.releaseRerun();
    }
    this.onOutcome(outcome, reply);
    this.onFreed();
  };

  /** The log line of a written outcome (only for a logger that writes lines). */
  #logWritten(
    outcome: Outcome,
    reply: number,
    job: RunningJob | undefined,
    canceled: boolean,
  ): void {
    const fields = {
      job: outcome.jobId,
      task: job?.task,
      ms: job ? Math.round(performance.now() - job.startedMono) : undefined,
      attempt: job ? `${job.attempt}/${job.maxAttempts}` : undefined,
    };
    if (canceled) {
      // The canceled outcome was there first: nothing of this run is written.
      this.log.log("info", "canceled (the task's outcome is ignored)", fields);
    } else if (outcome.kind === "finish") {
      const bad = reply === CORRUPT || reply === UNRECORDED || reply === WRITTEN;
      this.log.log(bad ? "error" : "info", FINISHED[reply] ?? "finished", fields);
    } else {
      const level = reply === 2 || reply < 0 ? "error" : "warn";
      this.log.log(level, FAILED[reply] ?? "failed", { ...fields, error: outcome.error });
    }
  }

  #free(entryId: string): void {
    this.#running.delete(entryId);
    this.onFreed();
    if (this.#running.size === 0) for (const resolve of this.#emptied.splice(0)) resolve();
  }
}

/**
 * A job as it starts running: its fields and the run's in one literal, in one order (no spread,
 * and no properties added after: each would grow the object again, per job). `current` is set
 * by the caller, whose attempt needs the object.
 */
function runningJob(j: Startable, startedAt: number): RunningJob {
  const running: RunningJob = {
    entryId: j.entryId,
    jobId: j.jobId,
    task: j.task,
    payload: j.payload,
    attempt: j.attempt,
    maxAttempts: j.maxAttempts,
    runNo: j.runNo,
    hasRecord: j.hasRecord,
    deliveries: j.deliveries,
    current: null as unknown as Attempt,
    startedMono: performance.now(),
    startedAt,
    canceled: false,
    sinks: null,
  };
  if (j.limitKey !== undefined) running.limitKey = j.limitKey;
  return running;
}

/** The attempt after `r`, run again at once on a full Redis (fail.lua run_again). */
function nextAttempt(r: RunningJob): Startable {
  // fail.lua set the entry's delivery count one up (XCLAIM … RETRYCOUNT): so is the fence.
  return startable(r, r.attempt + 1, r.runNo + 1, r.deliveries + 1);
}

/** Log events by script reply (lib/engine/lua/finish.lua and fail.lua). */
const FINISHED: Record<number, string> = {
  1: "finished",
  0: "finished (duplicate run, first result kept)",
  [CORRUPT]: "corrupt record: result not recorded, entry acknowledged (see dead letters)",
  [UNRECORDED]: "result not recorded; entry handed over for a claim",
  [WRITTEN]:
    "result recorded, then the call failed (Redis keeps a script's writes); entry acknowledged",
};
const FAILED: Record<number, string> = {
  1: "failed, will retry",
  [RERUN]: "failed, will retry at once (Redis is full)",
  2: "failed",
  0: "failed (job already ended)",
  [CORRUPT]: "corrupt record: failure not recorded, entry acknowledged (see dead letters)",
  [UNRECORDED]: "failure not recorded; entry handed over for a claim",
  [WRITTEN]:
    "failure written, then the call failed (Redis keeps a script's writes); entry acknowledged",
};
