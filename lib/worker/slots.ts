// A worker's slots: one concurrency limit shared by the read loops of every shard it reads
// (lib/worker/shard.ts). Jobs running in any shard, outcomes waiting past the limit, and slots
// reserved by reads and finish-takes in flight all count against it, so a busy shard may use
// every slot while the others are empty, and the total never exceeds `concurrency`.
import type { Jobs } from "./running.ts";

/** What a shard's read loops share with the other shards' (see Lanes, lib/worker/loops.ts). */
export class Slots {
  /** Slots that reads and finish-takes in flight may fill, over every shard. */
  reserved = 0;
  /** Loops waiting for a free slot, by ticket: the order they began to wait. */
  #waiting: { ticket: number; resolve: () => void }[] = [];
  #tickets = 0;
  #jobs: Jobs[] = [];
  /** Read loops of every shard (each shard's loops add theirs when they run). */
  loops = 0;

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
   * them beyond `concurrency`, so what a worker holds stays bounded by twice its concurrency
   * (Jobs.free, summed over the shards).
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

  /** Loops are waiting for a slot. */
  get waiting(): boolean {
    return this.#waiting.length > 0;
  }

  /** A place in the line for slots, behind every loop that has one now. */
  ticket(): number {
    return ++this.#tickets;
  }

  /**
   * Resolves at the next wake(): a slot was freed, or the worker is stopping. A loop that
   * found no slot after a wake waits again with its ticket, keeping its place in the line:
   * a loop that comes back for slots at once (its blocking read ended empty) cannot cut in.
   */
  wait(ticket: number): Promise<void> {
    return new Promise((resolve) => {
      const at = this.#waiting.findIndex((w) => w.ticket > ticket);
      this.#waiting.splice(at < 0 ? this.#waiting.length : at, 0, { ticket, resolve });
    });
  }

  /** Every waiting loop looks again, the longest-waiting first. */
  wake(): void {
    for (const w of this.#waiting.splice(0)) w.resolve();
  }

  /**
   * How many slots a loop of one of several shards holds while it waits for entries that are
   * not there yet (a blocking read): its fair part, at least 1. Held for up to blockMs, slots
   * beyond it would keep the shards that have jobs from using them.
   */
  blockingPart(): number {
    return Math.max(1, Math.floor(this.concurrency / Math.max(1, this.loops)));
  }
}
