// Where a worker's next jobs come from, in order: its own pending entries after a lost read,
// then lapsed leases of other workers (XAUTOCLAIM, every reclaimEveryMs), then new entries
// (a bounded blocking read). Keeps the cursors of the first two between turns.
import { claimIdle, type Delivery, readNew, readOwnPending } from "./_fetch.ts";
import { guard } from "./_watchdog.ts";
import type { WorkerOptions } from "./config.ts";
import type { Redis } from "./connect.ts";
import type { QueueKeys } from "./keys.ts";
import type { Logger } from "./log.ts";

export interface Fetched {
  deliveries: Delivery[];
  kind: "read" | "claim";
}

export class Source {
  #claimCursor = "0-0";
  #nextClaimAt = 0;
  /** Where to go on reading this consumer's own pending entries; null: nothing to look at. */
  #ownCursor: string | null = null;

  constructor(
    private readonly o: WorkerOptions,
    private readonly keys: QueueKeys,
    private readonly links: { client: () => Redis; reader: () => Redis },
    private readonly log: Logger,
    private readonly onReadStalled: () => void,
  ) {}

  /** A read failed, and its reply may be lost: look at this consumer's own entries first. */
  readLost(): void {
    this.#ownCursor = "0";
  }

  /** Up to `free` deliveries, leaving out entries in `held` (this worker runs them already). */
  async next(free: number, held: ReadonlySet<string>): Promise<Fetched> {
    const o = this.o;
    const name = o.name;
    if (this.#ownCursor !== null) {
      const got = await readOwnPending(this.links.client(), this.keys, name, free, this.#ownCursor);
      this.#ownCursor = got.length < free ? null : got[got.length - 1]!.entryId;
      const deliveries = notHeld(got, held);
      if (deliveries.length > 0) return { deliveries, kind: "claim" };
    } else if (o.now() >= this.#nextClaimAt) {
      const c = await claimIdle(this.links.client(), this.keys, name, o, this.#claimCursor, free);
      this.#claimCursor = c.cursor;
      if (c.cursor === "0-0") this.#nextClaimAt = o.now() + o.reclaimEveryMs;
      for (const id of c.deleted) this.log.log("warn", "claimed entry was deleted", { entry: id });
      const deliveries = notHeld(c.claimed, held);
      if (deliveries.length > 0) return { deliveries, kind: "claim" };
    }
    const block = o.burst ? Math.min(o.blockMs, 250) : o.blockMs;
    const read = readNew(this.links.reader(), this.keys, name, free, block);
    return {
      deliveries: await guard(read, block + o.commandTimeoutMs, this.onReadStalled),
      kind: "read",
    };
  }
}

/**
 * Entries this worker is running already (a lease that lapsed while it stalled) need no start:
 * the claim has renewed them. Starting them again would run the job twice.
 */
function notHeld(deliveries: Delivery[], held: ReadonlySet<string>): Delivery[] {
  return deliveries.filter((d) => !held.has(d.entryId));
}
