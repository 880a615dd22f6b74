// Lease renewal: every claimIdleMs / 3 a worker resets the idle time of all its in-flight
// entries in one script call, so a slow job is never claimed while its worker is alive.
// Entries another worker took over meanwhile (this one stalled past claimIdleMs) are not
// taken back; the worker is told, and gives those jobs up.

import type { WorkerOptions } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { renewLeases } from "../engine/lease.ts";
import type { Redis } from "../redis/connect.ts";

/** Lua's unpack() has a stack limit; renew in chunks well below it. */
const CHUNK = 1_000;

export class Leases {
  #busy = false;

  constructor(
    /** The current command connection (the worker may replace a stalled one). */
    private readonly client: () => Redis,
    private readonly keys: QueueKeys,
    private readonly o: WorkerOptions,
    private readonly onLost: (entryId: string) => void,
  ) {}

  async renew(consumer: string, entryIds: readonly string[]): Promise<void> {
    // A renewal slower than the interval (Redis down) must not pile up behind itself.
    if (this.#busy || entryIds.length === 0) return;
    this.#busy = true;
    try {
      for (let i = 0; i < entryIds.length; i += CHUNK) {
        const ids = entryIds.slice(i, i + CHUNK);
        const lost = await renewLeases(this.client(), this.keys, consumer, ids);
        for (const id of lost) this.onLost(id);
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Claim interval used by the worker: a third of claimIdleMs leaves two renewals of slack. */
  get everyMs(): number {
    return Math.max(10, Math.floor(this.o.claimIdleMs / 3));
  }
}
