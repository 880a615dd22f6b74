// A worker's slots: one concurrency limit shared by the read loops of every shard it reads
// (lib/worker/shard.ts). Jobs running in any shard, outcomes waiting past the limit, and slots
// reserved by reads and finish-takes in flight all count against it, so a busy shard may use
// every slot while the others are empty, and the total never exceeds `concurrency`.
//
// With several shards, a loop whose shard was empty waits for entries (a blocking read of one)
// without holding a slot: a slot held for blockMs would be kept from the shards that have
// jobs. What such a read brings while every slot is busy is held, pending on this worker and
// leased, and started before anything else once a slot frees (at most one per read loop).
import type { Startable } from "./entries.ts";
import type { Jobs } from "./running.ts";

interface Held {
  jobs: Jobs;
  job: Startable;
  /** Starts the job; false when it may not start yet (Redis full past the memory budget). */
  start: () => boolean;
}

export class Slots {
  /** Slots that reads and finish-takes in flight may fill, over every shard. */
  reserved = 0;
  /** Loops waiting for a free slot, by ticket: the order they began to wait. */
  #waiting: { ticket: number; resolve: () => void }[] = [];
  #tickets = 0;
  #jobs: Jobs[] = [];
  /** Entries delivered while every slot was busy, oldest first. */
  #held: Held[] = [];

  constructor(readonly concurrency: number) {}

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
   */
  free(): number {
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

  /** Someone waits for a slot: a loop with entries to read, or a held entry. */
  get wanted(): boolean {
    return this.#waiting.length > 0 || this.#held.length > 0;
  }

  /** A place in the line for slots, behind every loop that has one now. */
  ticket(): number {
    return ++this.#tickets;
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

  /** Starts `job` now if a slot is free and nothing was held before it, else holds it. */
  admit(jobs: Jobs, job: Startable, start: () => boolean): void {
    if (this.#held.length === 0 && this.free() > 0 && start()) return;
    jobs.held.set(job.entryId, job);
    this.#held.push({ jobs, job, start });
  }

  /** Held entries start on the free slots, then every waiting loop looks again, oldest first. */
  wake(): void {
    for (let first = this.#held[0]; first; first = this.#held[0]) {
      // Not held any more: its shard stopped (Jobs.close), and the stop releases its entry.
      const gone = !first.jobs.held.has(first.job.entryId);
      if (!gone && (this.free() <= 0 || !first.start())) break;
      this.#held.shift();
    }
    for (const w of this.#waiting.splice(0)) w.resolve();
  }
}
