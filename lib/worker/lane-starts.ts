// How what the read loops (lib/worker/loops.ts) read starts: in a slot reserved for it, or held
// for one (Slots.admit: read holding none, or the queue paused meanwhile). Below
// LANE_MIN_CONCURRENCY, a finish takes the next entries too (takeInFinish): the slots it holds
// for them, and with prefetch those to hold beyond the slots (lib/worker/prefetch.ts). While
// Redis is full, a retry runs again at once in a slot held for it (holdForReruns). The base of
// Lanes: the state both share lives here, as fields of the one object (no per-job hop).

import type { Startable } from "./entries.ts";
import type { LaneDeps } from "./loops.ts";
import type { Finish } from "./outcomes.ts";
import { Prefetch } from "./prefetch.ts";
import { Slots } from "./slots.ts";
import type { Fetched, Lane } from "./take.ts";

export class LaneStarts {
  /** The concurrency limit, shared with the other shards' loops (slots reserved, loops waiting). */
  protected readonly slots: Slots;
  /** Aborted once the worker stops: a loop backing off after a failed read ends at once. */
  protected readonly halt = new AbortController();
  /** Entries held beyond the slots (take mode); null: none ever. */
  protected readonly prefetch: Prefetch | null = null;

  constructor(protected readonly d: LaneDeps) {
    this.slots = d.slots ?? new Slots(d.o.concurrency);
    this.slots.join(d.jobs);
    if ((d.prefetch ?? 0) > 0) {
      const deps = { ...d, slots: this.slots, paused: () => d.paused?.() === true };
      this.prefetch = new Prefetch({ ...deps, refrain: d.refrain ?? (() => false) }, d.prefetch!);
    }
  }

  /**
   * A slot was freed, or the worker is stopping: waiting loops look again. Stopping also ends
   * the back-off after a failed read, which may be reconnectMaxMs long (Redis away or busy).
   */
  wake(): void {
    this.prefetch?.wake();
    this.slots.wake();
    if (!this.d.stopping()) return;
    this.halt.abort();
    this.prefetch?.close();
  }

  /**
   * Holds one slot for a finish that takes the next entry (take mode, below
   * LANE_MIN_CONCURRENCY: the finishing job's slot, so the loops do not read for it too);
   * false when none may be held: stopping, or Redis full past the memory budget. With several
   * shards, also when a loop or a held entry waits for a slot: the slot goes to them in turn,
   * so a shard that never runs dry does not keep the others' jobs waiting.
   */
  reserve(): boolean {
    if (this.d.stopping() || (this.slots.shared && this.slots.wanted)) return false;
    if (this.d.take(1) < 1) return false;
    this.slots.reserved++;
    return true;
  }

  /** A finish that held `n` slots came back: what it took is running, the rest is free. */
  unreserve(n: number): void {
    this.slots.reserved -= n;
    this.wake();
  }

  /**
   * Take mode, below LANE_MIN_CONCURRENCY: a finish also takes the next entries for the slots
   * it frees (docs/internals.md, "2. Read"): one call per job at concurrency 1. Above, passing
   * big batches through Lua costs Redis more than the plain read the lanes do. With prefetch,
   * it also takes entries to hold (lib/worker/prefetch.ts).
   */
  takeInFinish(onError: (err: unknown) => void): void {
    const { jobs, source } = this.d;
    jobs.outcomes.reserve = (f) => this.#reserveFor(f);
    jobs.outcomes.onTaken = (taken, held, lost, ahead) => {
      if (lost) source.readLost(); // its reply may have carried entries read for us
      // The slots the entries fill: those held, and those passed to entries asked for
      // (#reserveFor). Counted as asked until placed, so a job that ends meanwhile passes its
      // slot to them rather than reserve one they would then wait behind.
      let slots = -1;
      const place = () => (slots = held + (ahead > 0 ? this.prefetch!.answered(ahead) : 0));
      if (taken.length === 0) return this.unreserve(place());
      const run = source.taken(taken);
      if (!Array.isArray(run)) {
        void run
          .then((jobs) => this.#launchTaken(jobs, place()))
          .catch(onError)
          .finally(() => this.unreserve(slots < 0 ? place() : slots));
        return;
      }
      place();
      try {
        this.#launchTaken(run, slots);
      } catch (err) {
        onError(err);
      } finally {
        this.unreserve(slots);
      }
    };
  }

  /**
   * What a finish takes (OutcomeWrites.reserve): an entry for the slot its job frees, unless a
   * held entry takes that slot, or an entry asked for already (the slot is kept for it: it
   * starts on arrival, `passed`); with prefetch, one more to hold while there is room and
   * the job ran under prefetchWaitMs.
   */
  #reserveFor(f: Finish): void {
    const p = this.prefetch;
    if (p === null || !p.on) {
      f.reserved = this.reserve();
      return;
    }
    p.ran(f.runMs);
    const open = this.d.paused?.() !== true && !this.d.stopping();
    let starting = 0;
    if (open && this.d.jobs.held.size > 0) starting = 1;
    else if (open && p.asked > p.passed && this.d.take(1) > 0) {
      p.passed++;
      this.slots.reserved++;
    } else f.reserved = this.reserve();
    f.ahead = p.room(starting) > 0;
    if (f.ahead) p.asked++;
  }

  /**
   * Starts the jobs a finish took: the first `slots` in the slots it held, the rest held for
   * a slot (prefetch); none when the worker is stopping.
   */
  #launchTaken(run: readonly Startable[], slots: number): void {
    if (this.d.stopping()) return;
    for (let i = 0; i < run.length; i++) this.#launch(run[i]!, "read", i >= slots);
    if (run.length > slots) this.prefetch?.watch();
  }

  /**
   * While Redis is full (`full`), a failed attempt that will be retried holds its slot, and its
   * retry runs again at once in it (fail.lua run_again): a retry through the delayed set takes
   * memory the queue cannot get back (README, "Redis memory"). The slot is held outside the
   * memory budget: a rerun is no new job (the job's one outcome is still to come, and the
   * failure wrote nothing), so a worker past its headroom still runs it. Stopping: none held,
   * the retry goes through the delayed set.
   */
  holdForReruns(full: () => boolean): void {
    const { jobs } = this.d;
    jobs.holdRerun = () => {
      if (!full() || this.d.stopping()) return false;
      this.slots.reserved++;
      return true;
    };
    jobs.releaseRerun = () => this.unreserve(1);
  }

  /**
   * Reads up to `free` jobs and starts them, and `ahead` more to hold (prefetch). Several
   * shards: `idle` true, a read holding no slot whose jobs start through Slots.admit; false, a
   * read that never blocks; null, one shard.
   */
  protected async fetch(
    free: number,
    lane: Lane,
    idle: boolean | null,
    ahead: number,
  ): Promise<number> {
    let slots = free;
    let fetched: Fetched;
    try {
      fetched = await this.d.source.next(free + ahead, lane, idle !== false);
    } finally {
      // Slots passed to this read's asks (#reserveFor) are its entries' now.
      const passed = ahead > 0 ? this.prefetch!.answered(ahead) : 0;
      this.slots.reserved -= passed;
      slots += passed;
    }
    const { toRun, kind, count, seen } = fetched;
    try {
      // Stopping meanwhile: launch nothing; the entries stay pending and stop() releases them.
      if (this.d.stopping()) return count;
      let started = 0;
      for (const job of toRun) {
        // Claimed, yet its job ended here since the claim was sent: done (lib/worker/written.ts).
        if (seen?.written.has(job.entryId)) continue;
        this.#launch(job, kind, idle === true || started++ >= slots);
      }
      if (started > slots) this.prefetch?.watch();
      return count;
    } finally {
      seen?.done();
    }
  }

  /**
   * Starts a job read for a slot, or holds it (Slots.admit) when it was read holding none
   * (`admit`) or the queue was paused since the read went out: it starts on resume.
   */
  #launch(job: Startable, kind: "read" | "claim", admit: boolean): void {
    // An own read after a lost reply (Claims) brings back every entry pending here, those of
    // jobs this worker runs, ends or holds already among them: they are not held (again). Held,
    // a running job's entry wanted a slot for nothing, and a stop gave it back as unstarted.
    const { jobs } = this.d;
    if (jobs.has(job.entryId) || jobs.held.has(job.entryId)) return;
    const paused = this.d.paused?.() === true;
    if (paused) this.d.log.log("info", "job held: the queue is paused", { job: job.jobId });
    if (admit || paused)
      this.slots.admit(this.d.jobs, job, () => this.#start(job, kind), this.d.rank);
    else this.d.jobs.launch(job, kind);
  }

  /** Starts a held entry's job, memory budget permitting (lib/redis/memory.ts). */
  #start(job: Startable, kind: "read" | "claim"): boolean {
    if (this.d.stopping()) {
      this.d.jobs.held.delete(job.entryId); // not started: the stop releases its entry
      return true;
    }
    if (this.d.take(1) < 1) return false;
    this.d.jobs.launch(job, kind);
    return true;
  }
}
