// A worker's slots: one concurrency limit shared by the read loops of every shard it reads
// (lib/worker/shard.ts). Jobs running in any shard, outcomes waiting past the limit, and slots
// reserved by reads and finish-takes in flight all count against it, so a busy shard may use
// every slot while the others are empty, and the total never exceeds `concurrency`.
//
// With several shards, a loop whose shard was empty waits for entries (a blocking read of one)
// without holding a slot: a slot held for blockMs would be kept from the shards that have
// jobs. What such a read brings while every slot is busy is held, pending on this worker and
// leased, and started before anything else once a slot frees (at most one per read loop).
// A worker of one shard below 16 slots holds entries the same way, read ahead on purpose
// (prefetch: lib/worker/prefetch.ts).
//
// A worker of several queues (lib/worker/order.ts) gives each shard worker the rank of its
// queue: a freed slot goes to the rank the order picks among those that want one (loops in the
// line or reading with slots in hand, held entries); the others see no free slot until it is
// served (`free(rank)`), so a later queue reads only once every earlier one came back empty,
// and a later queue's held entry waits behind an earlier queue's. One queue: every rank is 0,
// and nothing is gated.
import type { Startable } from "./entries.ts";
import { type OrderOptions, pickRank } from "./order.ts";
import type { Jobs } from "./running.ts";

export interface Held {
  jobs: Jobs;
  job: Startable;
  /** Starts the job; false when it may not start yet (Redis full past the memory budget). */
  start: () => boolean;
  rank: number;
  /** When it began to wait (monotonic ms): a prefetched entry waits a bounded time. */
  since: number;
}

export class Slots {
  /** Slots that reads and finish-takes in flight may fill, over every shard. */
  reserved = 0;
  /** Loops waiting for a free slot, by ticket: the order they began to wait. */
  #waiting: { ticket: number; resolve: () => void }[] = [];
  #tickets = 0;
  /** Each loop in the line (from ticket() to served()): its rank. */
  #wanting = new Map<number, number>();
  /** Reads in flight with slots in hand, per rank (a rank reading may have more jobs). */
  #reading = new Map<number, number>();
  /** The rank free slots go to now (a weighted draw, kept until that rank is served). */
  #turn: number | null = null;
  #jobs: Jobs[] = [];
  /**
   * Whether the queue of `rank` is paused (lib/worker/pause.ts): its loops, reads and held
   * entries want no slot, so they neither start nor keep slots from the worker's other queues.
   */
  paused: (rank: number) => boolean = () => false;
  /** Entries delivered while every slot was busy, oldest first. */
  #held: Held[] = [];
  /**
   * Prefetch on (lib/worker/prefetch.ts): a held entry waiting longer than this (ms) is never
   * started by wake() but given back (`onStale`), even when the give-back timer is late.
   */
  holdMs: number | null = null;
  onStale: () => void = () => {};

  /** `order`: how ranks take turns (a worker of several queues); null: one queue, no ranks. */
  constructor(
    readonly concurrency: number,
    readonly order: OrderOptions | null = null,
  ) {}

  /** A shard's jobs count against the limit from now on. */
  join(jobs: Jobs): void {
    this.#jobs.push(jobs);
  }

  /** More than one shard shares these slots. */
  get shared(): boolean {
    return this.#jobs.length > 1;
  }

  /**
   * Slots free for new jobs. Outcomes waiting to be written (Redis slow or away) count against
   * them beyond `concurrency`, so what a worker holds stays bounded by twice its concurrency.
   * None for `rank` while the order gives the slots to another rank that wants them.
   */
  free(rank = 0): number {
    const free = this.#free();
    return free > 0 && this.#gated(rank) ? 0 : free;
  }

  #free(): number {
    let running = 0;
    let writing = 0;
    for (const jobs of this.#jobs) {
      running += jobs.size;
      writing += jobs.inFlight - jobs.size;
    }
    return this.concurrency - running - Math.max(0, writing - this.concurrency) - this.reserved;
  }

  /** Jobs running now, over every shard. */
  get running(): number {
    return this.#jobs.reduce((n, jobs) => n + jobs.size, 0);
  }

  /** Tasks running now, over every shard: not counting jobs waiting for a rate-limit slot. */
  get tasks(): number {
    return this.#jobs.reduce((n, jobs) => n + jobs.size - jobs.waits.size, 0);
  }

  /** Someone waits for a slot: a loop with entries to read, or a held entry. */
  get wanted(): boolean {
    return this.#wanting.size > 0 || this.#held.length > 0;
  }

  /** A place in the line for slots, behind every loop that has one now (of rank `rank`). */
  ticket(rank = 0): number {
    const ticket = ++this.#tickets;
    this.#wanting.set(ticket, rank);
    return ticket;
  }

  /** A loop of `rank` began (`delta` 1) or ended (-1) a read with slots in hand. */
  reading(rank: number, delta: 1 | -1): void {
    const n = (this.#reading.get(rank) ?? 0) + delta;
    if (n > 0) this.#reading.set(rank, n);
    else this.#reading.delete(rank);
  }

  /**
   * A loop of `rank` got its slots, or ended: out of the line (its `ticket`, if it had one), and
   * its rank's turn is used (the next is drawn afresh).
   */
  served(ticket: number | null, rank = 0): void {
    if (ticket !== null) this.#wanting.delete(ticket);
    if (rank === this.#turn) this.#turn = null;
  }

  /**
   * Resolves at the next wake(): a slot was freed, or the worker is stopping. A loop that
   * found no slot after a wake waits again with its ticket, keeping its place in the line.
   */
  wait(ticket: number): Promise<void> {
    return new Promise((resolve) => {
      const at = this.#waiting.findIndex((w) => w.ticket > ticket);
      this.#waiting.splice(at < 0 ? this.#waiting.length : at, 0, { ticket, resolve });
    });
  }

  /**
   * Resolves at the next wake() without a place in the line: a paused queue's loop wants no
   * slot, and must not hold one back from the other queues by waiting for it.
   */
  nextWake(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting.push({ ticket: Number.POSITIVE_INFINITY, resolve });
    });
  }

  /** Starts `job` now if a slot is free and nothing was held before it, else holds it. */
  admit(jobs: Jobs, job: Startable, start: () => boolean, rank = 0): void {
    if (this.#held.length === 0 && this.free(rank) > 0 && start()) return;
    jobs.held.set(job.entryId, job);
    this.#held.push({ jobs, job, start, rank, since: performance.now() });
  }

  /**
   * Held entries waiting since before `before` (monotonic ms), out of the line: none of them
   * starts (lib/worker/prefetch.ts gives them back). They stay in their jobs' `held`, leased.
   */
  takeStale(before: number): Held[] {
    const stale = this.#held.filter((h) => h.since < before && h.jobs.held.has(h.job.entryId));
    if (stale.length > 0) this.#held = this.#held.filter((h) => !stale.includes(h));
    return stale;
  }

  /** The queue was resumed: its held entries wait their bound afresh (a pause keeps them). */
  rewait(now: number): void {
    for (const h of this.#held) h.since = now;
  }

  /** When the oldest held entry began to wait (monotonic ms), or null when none waits. */
  oldestHeld(): number | null {
    let oldest: number | null = null;
    for (const h of this.#held)
      if (h.jobs.held.has(h.job.entryId) && (oldest === null || h.since < oldest)) oldest = h.since;
    return oldest;
  }

  /**
   * Held entries start on the free slots, oldest first within the rank whose turn it is, then
   * every waiting loop looks again, oldest first (the line's ranks decide who gets a slot).
   */
  wake(): void {
    // Not held any more: its shard stopped (Jobs.close), and the stop releases its entry.
    if (this.#held.length > 0)
      this.#held = this.#held.filter((h) => h.jobs.held.has(h.job.entryId));
    const cutoff = this.holdMs === null ? null : performance.now() - this.holdMs;
    while (this.#held.length > 0 && this.#free() > 0) {
      const at = this.#nextHeld(cutoff);
      const next = this.#held[at];
      if (next === undefined || !next.start()) break;
      this.#held.splice(at, 1);
      if (next.rank === this.#turn) this.#turn = null;
    }
    if (cutoff !== null && this.#held.some((h) => h.since < cutoff && !this.paused(h.rank)))
      this.onStale();
    if (this.#waiting.length === 0) return; // called several times a job: no garbage
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w.resolve();
  }

  /** The held entry to start next: the oldest of the rank whose turn it is (-1: a loop's turn). */
  #nextHeld(cutoff: number | null): number {
    if (this.order === null)
      return this.#held.findIndex(
        (h) => !this.paused(h.rank) && (cutoff === null || h.since >= cutoff),
      );
    const rank = this.#turnAmong(new Set());
    return rank < 0 ? -1 : this.#held.findIndex((h) => h.rank === rank);
  }

  /** Slots go to another rank than `rank` now (a worker of several queues only). */
  #gated(rank: number): boolean {
    return this.order !== null && this.#turnAmong(new Set([rank])) !== rank;
  }

  /**
   * The rank whose turn it is among those wanting a slot (loops in the line or reading, held
   * entries) and `asking`: strict, the first; weighted, one drawn by weight and kept until it
   * is served.
   */
  #turnAmong(asking: Set<number>): number {
    const ranks = asking;
    for (const rank of this.#wanting.values()) ranks.add(rank);
    for (const rank of this.#reading.keys()) ranks.add(rank);
    for (const h of this.#held) ranks.add(h.rank);
    for (const rank of ranks) if (this.paused(rank)) ranks.delete(rank);
    if (ranks.size === 0) return -1; // no queue wants a slot that may take one
    const order = this.order as OrderOptions;
    if (order.order === "strict") return pickRank(order, ranks);
    if (this.#turn === null || !ranks.has(this.#turn)) this.#turn = pickRank(order, ranks);
    return this.#turn as number;
  }
}
