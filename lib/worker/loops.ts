// The read loops ("lanes"): each claims lapsed entries when due, else takes new jobs (blocking
// when there are none), starts them and hands them to Jobs, for as long as slots are free.
//
// From LANE_MIN_CONCURRENCY on, two lanes share the slots, each on its own connection, and
// outcomes are written on the two in turn (lib/worker/outcomes.ts). Redis answers the commands that
// reach it together in one go: with a single connection it sits idle while the worker handles
// a reply, and the worker sits idle while Redis works. With two, one lane's calls are answered
// while the worker handles the other's (measured in docs/performance.md).

import type { WorkerOptions } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { Logger } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { pause } from "../time.ts";
import { ensureGroup, type Startable } from "./entries.ts";
import type { Finish } from "./outcomes.ts";
import { Prefetch } from "./prefetch.ts";
import type { Jobs } from "./running.ts";
import { Slots } from "./slots.ts";
import type { Fetched, Lane, Source } from "./take.ts";

/** From this concurrency on, a worker takes jobs in two lanes. */
export const LANE_MIN_CONCURRENCY = 16;

export interface LaneDeps {
  o: WorkerOptions;
  keys: QueueKeys;
  jobs: Jobs;
  source: Source;
  log: Logger;
  /** The command connection (for re-creating the group, and burst mode's exit test). */
  client: () => Redis;
  stopping: () => boolean;
  /**
   * How many of `n` jobs may start now, taken from the memory budget (lib/redis/memory.ts); 0 =
   * none for now (Redis is full past the headroom, or its memory is being read): wake() then.
   */
  take: (n: number) => number;
  /**
   * The queue is paused (lib/worker/pause.ts): the loops read nothing, and what a read in
   * flight brings is held, pending here and leased, until the pause ends (wake() then).
   */
  paused?: () => boolean;
  /**
   * Whether a failed read was refused for good (a queue key of another type, NOPERM): the loop
   * then ends rather than retry for ever, and the worker stops (it is told here).
   */
  refused: (err: unknown) => boolean;
  /** The wait before reading again after the `failures`-th failed read in a row (0 first). */
  retryMs: (failures: number) => number;
  /**
   * The slots this worker's shards share (lib/worker/slots.ts); a worker of one shard may leave
   * it out (its loops then have slots of their own).
   */
  slots?: Slots;
  /** The rank of this shard's queue among a worker's queues (lib/worker/order.ts; 0 first). */
  rank?: number;
  /** Entries to hold beyond the slots (lib/worker/prefetch.ts); 0 or absent: none. */
  prefetch?: number;
  /** Whether to prefetch none for now (the queue has rate limits, Redis is full). */
  refrain?: () => boolean;
  /** Redis is full past the memory budget: held entries are kept, not given back. */
  full?: () => boolean;
  /** This start's token (name.lua), for the give-backs of held entries. */
  start: string;
}

export class Lanes {
  /** Monotonic ms of a loop's last turn, for /livez. */
  lastTurn = performance.now();
  /** The concurrency limit, shared with the other shards' loops (slots reserved, loops waiting). */
  #slots: Slots;
  /** Loops still running: each takes its share of the slots (burst mode ends them one by one). */
  #running = 0;
  /** Aborted once the worker stops: a loop backing off after a failed read ends at once. */
  #halt = new AbortController();
  /** Entries held beyond the slots (take mode); null: none ever. */
  #prefetch: Prefetch | null = null;

  constructor(private readonly d: LaneDeps) {
    this.#slots = d.slots ?? new Slots(d.o.concurrency);
    this.#slots.join(d.jobs);
    if ((d.prefetch ?? 0) > 0) {
      const deps = { ...d, slots: this.#slots, paused: () => d.paused?.() === true };
      this.#prefetch = new Prefetch({ ...deps, refrain: d.refrain ?? (() => false) }, d.prefetch!);
    }
  }

  /** Runs one loop per lane; resolves when all have ended (the worker stops, or burst ends). */
  run(lanes: readonly Lane[]): Promise<void> {
    this.#running = lanes.length;
    return Promise.all(lanes.map((lane) => this.#loop(lane))).then(() => {});
  }

  /**
   * A slot was freed, or the worker is stopping: waiting loops look again. Stopping also ends
   * the back-off after a failed read, which may be reconnectMaxMs long (Redis away or busy).
   */
  wake(): void {
    this.#prefetch?.wake();
    this.#slots.wake();
    if (!this.d.stopping()) return;
    this.#halt.abort();
    this.#prefetch?.close();
  }

  async #loop(lane: Lane): Promise<void> {
    try {
      await this.#turns(lane);
    } finally {
      this.#running--;
      this.wake();
    }
  }

  async #turns(lane: Lane): Promise<void> {
    const rank = this.d.rank ?? 0;
    /** This loop's place in the line for slots while it waits (Slots.wait). */
    const line = { ticket: null as number | null };
    try {
      await this.#turnsIn(lane, rank, line);
    } finally {
      this.#slots.served(line.ticket, rank); // an ended loop leaves the line
    }
  }

  async #turnsIn(lane: Lane, rank: number, line: { ticket: number | null }): Promise<void> {
    const { o } = this.d;
    const shared = this.#slots;
    let failures = 0;
    while (!this.d.stopping()) {
      this.lastTurn = performance.now();
      // Several shards, this one empty at the last read: wait for its next entry holding no
      // slot (lib/worker/slots.ts); one with an entry held already waits for a slot first.
      const idle = shared.shared && this.d.source.caughtUp(lane) && this.d.jobs.held.size === 0;
      if (this.d.paused?.()) {
        // Paused: not even an idle read (its entry would wait here), and out of the line for
        // slots (a paused queue wants none: a worker's other queues take them); wake() on resume.
        shared.served(line.ticket, rank);
        line.ticket = null;
        await shared.nextWake();
        continue;
      }
      let free = 0;
      if (!idle) {
        const share = Math.ceil(o.concurrency / this.#running);
        const slots = Math.min(share, shared.free(rank));
        free = slots > 0 ? this.d.take(slots) : 0;
        if (free <= 0) {
          line.ticket ??= shared.ticket(rank);
          await shared.wait(line.ticket);
          continue;
        }
        shared.served(line.ticket, rank);
        line.ticket = null;
      }
      shared.reserved += free;
      // A read with slots in hand may bring more of this rank's jobs: later ranks wait for it.
      if (!idle) shared.reading(rank, 1);
      // Take mode with prefetch: entries to hold beyond the slots, asked for in the same read.
      const ahead = idle || this.#prefetch === null ? 0 : this.#prefetch.room();
      if (ahead > 0) this.#prefetch!.asked += ahead;
      try {
        const got = await this.#fetch(idle ? 1 : free, lane, shared.shared ? idle : null, ahead);
        failures = 0;
        if (got === 0 && o.burst && (await this.#drained())) return;
      } catch (err) {
        if (this.d.stopping() || this.d.refused(err)) return;
        await this.#recover(err, failures++);
      } finally {
        if (!idle) shared.reading(rank, -1);
        shared.reserved -= free;
        this.wake();
      }
    }
  }

  /**
   * Holds one slot for a finish that takes the next entry (take mode, below
   * LANE_MIN_CONCURRENCY: the finishing job's slot, so the loops do not read for it too);
   * false when none may be held: stopping, or Redis full past the memory budget. With several
   * shards, also when a loop or a held entry waits for a slot: the slot goes to them in turn,
   * so a shard that never runs dry does not keep the others' jobs waiting.
   */
  reserve(): boolean {
    if (this.d.stopping() || (this.#slots.shared && this.#slots.wanted)) return false;
    if (this.d.take(1) < 1) return false;
    this.#slots.reserved++;
    return true;
  }

  /** A finish that held `n` slots came back: what it took is running, the rest is free. */
  unreserve(n: number): void {
    this.#slots.reserved -= n;
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
      const place = () => (slots = held + (ahead > 0 ? this.#prefetch!.answered(ahead) : 0));
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
   * What a finish takes (Outcomes.reserve): an entry for the slot its job frees, unless a
   * held entry takes that slot, or an entry asked for already (the slot is kept for it: it
   * starts on arrival, `passed`); with prefetch, one more to hold while there is room and
   * the job ran under prefetchWaitMs.
   */
  #reserveFor(f: Finish): void {
    const p = this.#prefetch;
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
      this.#slots.reserved++;
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
    if (run.length > slots) this.#prefetch?.watch();
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
      this.#slots.reserved++;
      return true;
    };
    jobs.releaseRerun = () => this.unreserve(1);
  }

  /**
   * Reads up to `free` jobs and starts them, and `ahead` more to hold (prefetch). Several
   * shards: `idle` true, a read holding no slot whose jobs start through Slots.admit; false, a
   * read that never blocks; null, one shard.
   */
  async #fetch(free: number, lane: Lane, idle: boolean | null, ahead: number): Promise<number> {
    let slots = free;
    let fetched: Fetched;
    try {
      fetched = await this.d.source.next(free + ahead, lane, idle !== false);
    } finally {
      // Slots passed to this read's asks (#reserveFor) are its entries' now.
      const passed = ahead > 0 ? this.#prefetch!.answered(ahead) : 0;
      this.#slots.reserved -= passed;
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
      if (started > slots) this.#prefetch?.watch();
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
    const paused = this.d.paused?.() === true;
    if (paused) this.d.log.log("info", "job held: the queue is paused", { job: job.jobId });
    if (admit || paused)
      this.#slots.admit(this.d.jobs, job, () => this.#start(job, kind), this.d.rank);
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

  async #recover(err: unknown, failures: number): Promise<void> {
    // A read whose reply was lost may have left entries pending on us: look there first.
    this.d.source.readLost();
    const message = describeCause(err);
    if (message.startsWith("NOGROUP")) {
      // The stream (and its group) vanished: a FLUSHALL, or a restart without persistence.
      // Made again: read at once; not made (Redis away): wait below, never spin.
      const made = ensureGroup(this.d.client(), this.d.keys);
      if (await made.then(() => true).catch(() => false)) return;
    }
    const waitMs = this.d.retryMs(failures);
    this.d.log.log("warn", "read failed, retrying", { error: message, retryInMs: waitMs });
    await pause(waitMs, this.#halt.signal);
  }

  /**
   * Nothing waiting, delayed, waiting for parents or in flight anywhere in the queue (burst
   * mode's exit test). A
   * lane that ends leaves the other to finish what its fetch in flight brings; the worker stops
   * once both have ended.
   */
  async #drained(): Promise<boolean> {
    const { jobs, keys } = this.d;
    if (jobs.inFlight > 0 || jobs.held.size > 0 || jobs.outcomes.size > 0) return false;
    const client = this.d.client();
    // Jobs waiting for their parents, and ended parents whose children are still to be told
    // (docs/internals.md, "10. Dependencies and batches"), are work to come as well; a child
    // still being registered (or left so by a producer that stopped) is its producer's, not.
    const [entries, delayed, children, registering, ended] = await Promise.all([
      client.sendCommand<number>(["XLEN", keys.stream]),
      client.sendCommand<number>(["ZCARD", keys.delayed]),
      client.sendCommand<number>(["ZCARD", keys.children]),
      client.sendCommand<number>(["ZCARD", keys.registering]),
      client.sendCommand<number>(["ZCARD", keys.endedParents]),
    ]);
    const waiting = Number(children) - Number(registering);
    return [entries, delayed, ended].every((n) => Number(n) === 0) && waiting <= 0;
  }
}
