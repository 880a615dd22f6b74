// What happens when an attempt ends (the base of Jobs, lib/worker/running.ts): its outcome
// becomes a finish, a retry (run again at once in a held slot on a full Redis) or a failure,
// or a hold (HeldError); Outcomes (the writer) writes it, and the slot frees once it is written.
// Log lines per job are written here (lib/worker/job-log.ts), once the outcome is recorded.
// The state the two halves share lives here, as fields of the one object (no per-job hop).

import type { WorkerOptions } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { type Logger, silentLogger, throttled } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import type { AttemptResult } from "./attempt.ts";
import { type Startable, startable } from "./entries.ts";
import type { HeldOutcome, TaskHold } from "./held.ts";
import { logWritten } from "./job-log.ts";
import { type Failure, type OnWritten, type Outcome, Outcomes, RERUN } from "./outcomes.ts";
import { retryInMs } from "./retry-policy.ts";
import { nextAttempt, type RunningJob } from "./running-job.ts";
import { SlotWaits } from "./waits.ts";
import { WrittenLog } from "./written.ts";

export abstract class AttemptEnds {
  readonly outcomes: Outcomes;
  processed = 0;
  failed = 0;
  /**
   * A read that does not block is in flight (lib/worker/take.ts Source.reading): jobs it brings
   * may end in the turn a finish ends, so that finish waits for the turn to share their write.
   */
  readsInFlight: () => boolean = () => false;
  /** Called whenever a slot frees up. */
  onFreed: () => void = () => {};
  /** An outcome was written (script reply as in lib/worker/outcomes.ts). */
  onOutcome: OnWritten = () => {};
  /**
   * A failed attempt will be retried: hold its slot for a rerun at once (true) when Redis is
   * full (lib/worker/lane-starts.ts holdForReruns); `releaseRerun` hands the slot back once written.
   */
  holdRerun: () => boolean = () => false;
  releaseRerun: () => void = () => {};
  /**
   * Entries delivered while every slot was busy (a worker of several shards: lib/worker/slots.ts;
   * prefetched ones: lib/worker/prefetch.ts), started first when a slot frees. Leased as running
   * ones are; a stop releases them.
   */
  readonly held = new Map<string, Startable>();
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
  /** The jobs running now, by entry id. */
  protected readonly running = new Map<string, RunningJob>();
  /**
   * Jobs whose attempt is over and whose outcome waits to be written. Their slot is already
   * free, so the next read overlaps with the write; they stay leased until it lands.
   */
  protected readonly writing = new Map<string, RunningJob>();
  #emptied: (() => void)[] = [];

  constructor(
    /** The connections outcomes are written on (the worker's lanes), in turn. */
    clients: () => readonly Redis[],
    keys: QueueKeys,
    protected readonly o: WorkerOptions,
    protected readonly log: Logger,
    onRedisError: (err: unknown, retryInMs?: number) => void,
  ) {
    this.outcomes = new Outcomes(clients, keys, o, this.#onWritten, onRedisError);
    const unreplicated = throttled(log, "outcomes not confirmed by a replica");
    this.outcomes.onUnreplicated = (count) =>
      unreplicated({
        count,
        waitMs: o.replicaWaitMs,
        risk: "lost if the master fails now: the jobs would run again",
      });
  }

  /** Starts a job's attempt (Jobs.launch): here, a rerun in the slot held for it. */
  abstract launch(job: Startable, kind: "read" | "claim"): void;

  /** Resolves when nothing is running (at once if nothing is). */
  empty(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptied.push(resolve));
  }

  protected ended(job: RunningJob, r: AttemptResult): void {
    const { entryId, jobId } = job;
    // Nothing else runs, waits to start or is being read here (this job still counts among the
    // running): no other outcome can join this one's write, which need not wait for the turn.
    const alone =
      this.running.size === 1 &&
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
      this.#addFailure(job, r, runMs, alone);
    }
    this.writing.set(entryId, job);
    this.#free(entryId);
  }

  /**
   * A failed attempt's outcome: a retry (with a slot held for a rerun at once on a full Redis)
   * or, its attempts used up or the error permanent, a failure for good.
   */
  #addFailure(
    job: RunningJob,
    r: { error: string; permanent: boolean; retryAfterMs?: number },
    runMs: number,
    alone: boolean,
  ): void {
    const { entryId, jobId } = job;
    const run = startable(job, job.attempt, job.runNo, job.deliveries);
    const retryIn = retryInMs(
      { ...job, permanent: r.permanent, retryAfterMs: r.retryAfterMs },
      this.o,
    );
    // A canceled job's failure only acknowledges its entry (fail.lua: it has an outcome):
    // no slot is held for a rerun.
    const rerun = retryIn !== null && !job.canceled && this.holdRerun();
    const base = { entryId, jobId, job: run, runMs };
    this.outcomes.add({ kind: "fail", ...base, error: r.error, retryInMs: retryIn, rerun }, alone);
  }

  /**
   * Holds a job whose task said "slow down"; it stays leased (in `writing`) until the hold is
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
    this.writing.delete(base.entryId);
    this.held.delete(base.entryId);
    this.written.add(base.entryId);
    this.onFreed();
  }

  #onWritten = (outcome: Outcome, reply: number): void => {
    const job = this.writing.get(outcome.entryId);
    const canceled = job?.canceled === true && reply === 0;
    if (!canceled && outcome.kind === "finish") this.processed++;
    else if (!canceled) this.failed++;
    // A silent logger (the library's default) gets no line: its fields are not built per job.
    if (this.log !== silentLogger) logWritten(this.log, outcome, reply, job, canceled);
    this.writing.delete(outcome.entryId);
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

  #free(entryId: string): void {
    this.running.delete(entryId);
    this.onFreed();
    if (this.running.size === 0) for (const resolve of this.#emptied.splice(0)) resolve();
  }
}
