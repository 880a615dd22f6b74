// Prefetch (take mode, concurrency under LANE_MIN_CONCURRENCY): a worker holds up to `prefetch`
// entries beyond its concurrency, read but not started (Slots.admit's held entries: pending
// here, leased, released by a stop), so the next job starts the moment one ends while the
// finish that takes the one after is in flight (docs/internals.md, "2. Read"). At concurrency 1
// nothing else overlaps: without it the worker waits for each finish's reply, and Redis for
// the worker. Tasks still run at most `concurrency` at once.
//
// Bounded: an entry held prefetchWaitMs (the job before it runs long) is given back to the
// queue unstarted (give-back.lua: no attempt spent, no run written), so a long job never
// keeps a short one from an idle worker for longer; and none is asked for after a job that ran
// that long, so workers of long jobs do not churn give-backs.
import type { WorkerOptions } from "../config.ts";
import { giveBackEntries } from "../engine/give-back.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { Logger } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import type { Jobs } from "./running.ts";
import type { Held, Slots } from "./slots.ts";

export interface PrefetchDeps {
  o: WorkerOptions;
  keys: QueueKeys;
  jobs: Jobs;
  slots: Slots;
  log: Logger;
  client: () => Redis;
  stopping: () => boolean;
  paused: () => boolean;
  /** This start's token (name.lua): a give-back checks the name is still this start's. */
  start: string;
  /**
   * Whether none may be asked for now: a job may ask the limiter (rate limits, a key hold made
   * lately: the limiter decides at the read, and starts a job at its slot without waiting for
   * a worker slot), or Redis is full past the memory budget.
   */
  refrain: () => boolean;
  /** Redis is full past the memory budget: held entries are kept (a give-back writes a record). */
  full?: () => boolean;
}

export class Prefetch {
  /** Entries asked beyond the slots by reads and finishes in flight, to hold. */
  asked = 0;
  /**
   * Of `asked`, those a job that ended passed its slot to (Lanes.reserveFor): the entry starts
   * on arrival. Their slots are reserved (Slots.reserved) until the next reply that asked.
   */
  passed = 0;
  /** The last job ran under prefetchWaitMs: one held is likely to start soon. */
  #pays = true;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** A pause was seen with the timer stopped: on resume, held entries wait afresh. */
  #wasPaused = false;
  /** Entries whose give-back call failed: tried again at the next look, never started. */
  #returning: Held[] = [];

  constructor(
    private readonly d: PrefetchDeps,
    /** The most to hold: 0 in lane mode (LANE_MIN_CONCURRENCY on), else `prefetch`. */
    private readonly most: number,
  ) {}

  /** Prefetch applies: take mode, one shard (several hold one per read loop already). */
  get on(): boolean {
    return this.most > 0 && !this.d.slots.shared;
  }

  /** A job ended after `runMs`: whether the next is likely to start within the bound. */
  ran(runMs: number): void {
    this.#pays = runMs < this.d.o.prefetchWaitMs;
  }

  /**
   * Entries that may be asked for now, beyond the slots: `most` less those held and asked for,
   * but for those that will run, not wait: `starting` held entries about to start in a slot
   * that frees, and the asks slots were passed to.
   */
  room(starting = 0): number {
    const d = this.d;
    if (!this.on || !this.#pays || d.stopping() || d.paused() || d.refrain()) return 0;
    const waiting = d.jobs.held.size - starting + this.asked - this.passed;
    return Math.max(0, this.most - waiting);
  }

  /** A reply came for `ahead` entries asked: passed slots it filled are free for its entries. */
  answered(ahead: number): number {
    const filled = Math.min(this.passed, ahead);
    this.passed -= filled;
    this.asked -= ahead;
    return filled;
  }

  /**
   * Entries are held: the give-back timer runs (one timer, re-armed by the oldest held). None
   * while paused: held entries are kept then, and wake() watches again on resume.
   */
  watch(): void {
    const d = this.d;
    // Several shards: what their loops hold waits for a slot, however long (lib/worker/slots.ts).
    if (!this.on) return;
    if (d.slots.holdMs === null) {
      d.slots.holdMs = d.o.prefetchWaitMs;
      d.slots.onStale = () => this.#soon();
    }
    if (d.paused()) this.#wasPaused = true;
    else if (this.#timer === undefined && d.jobs.held.size > 0 && !d.stopping())
      this.#arm(d.o.prefetchWaitMs);
  }

  /**
   * A slot was freed, or the pause began or ended (Lanes.wake, before held entries start): on
   * resume, held entries wait their bound afresh (kept while paused, they start now if a slot
   * is free), and the timer is armed again.
   */
  wake(): void {
    if (this.#wasPaused && !this.d.paused()) {
      this.#wasPaused = false;
      this.d.slots.rewait(performance.now());
    }
    if (this.#wasPaused || this.d.jobs.held.size > 0) this.watch();
  }

  /** A held entry is past its bound when a slot freed: given back now, not started. */
  #soon(): void {
    if (this.d.paused() || this.d.stopping()) return;
    clearTimeout(this.#timer);
    this.#arm(0);
  }

  /** The worker is stopping: no more give-backs (the stop releases what is held). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#check(), Math.max(1, Math.ceil(ms)));
  }

  #check(): void {
    this.#timer = undefined;
    const { o, slots, stopping, paused } = this.d;
    if (stopping()) return;
    // Paused: kept, started on resume (what a read brings while paused waits here); the timer
    // stops until then (wake() arms it again), so a pause costs no timer firing each ms.
    if (paused()) {
      this.#wasPaused = true;
      return;
    }
    if (this.d.full?.()) {
      this.#arm(o.prefetchWaitMs); // kept, as in a pause; looked at again in a while
      return;
    }
    const now = performance.now();
    const stale = slots.takeStale(now - o.prefetchWaitMs);
    const again = this.#returning.filter((h) => this.d.jobs.held.has(h.job.entryId));
    for (const h of this.#returning)
      if (!again.includes(h)) this.d.jobs.givingBack.delete(h.job.entryId); // lease lost
    this.#returning = [];
    if (stale.length + again.length > 0) void this.#giveBack([...again, ...stale]);
    const oldest = slots.oldestHeld();
    if (oldest !== null) this.#arm(oldest + o.prefetchWaitMs - now);
  }

  /**
   * Gives stale held entries back. Out of the line for slots already, so none starts while the
   * call is out; still in jobs.held meanwhile, so their lease is renewed and a stop releases
   * them. A call that fails may have landed (a lost reply): they never start here, and are
   * given back again at the next look (an entry already back is `gone`).
   */
  async #giveBack(stale: Held[]): Promise<void> {
    const { d } = this;
    const ids = stale.map((h) => h.job.entryId);
    for (const id of ids) d.jobs.givingBack.add(id);
    try {
      const verdicts = await giveBackEntries(d.client(), d.keys, d.o.name, ids, d.start);
      for (const [i, h] of stale.entries()) {
        d.jobs.held.delete(h.job.entryId);
        d.jobs.givingBack.delete(h.job.entryId);
        const verdict = verdicts[i] ?? "gone";
        const fields = { job: h.job.jobId, verdict };
        if (verdict === "back")
          d.log.log("info", "prefetched job given back: the job before it runs long", fields);
        else d.log.log("info", "prefetched job dropped: not pending here any more", fields);
      }
    } catch (err) {
      d.log.log("warn", "could not give a prefetched job back; trying again", {
        error: describeCause(err),
      });
      this.#returning.push(...stale);
      if (this.#timer === undefined && !d.stopping()) this.#arm(d.o.prefetchWaitMs);
    } finally {
      d.slots.wake();
    }
  }
}
