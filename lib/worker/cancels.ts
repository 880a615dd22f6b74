// A worker learns that a job it runs was canceled (docs/internals.md, "Cancel"): every
// cancelCheckMs, while it runs or holds jobs, one read per shard of the shard's `canceled`
// stream after the last entry it saw (cancel.lua adds one entry per call, and trims it to about
// CANCELED_KEPT entries; stream ids only grow, so a step of Redis' clock hides no cancel). A canceled job's signal aborts with a CanceledError; its outcome is then ignored (the
// canceled outcome is there first: a finish loses its SET NX, a failure only acknowledges).
// Nothing is read while the worker runs nothing, so an idle worker costs Redis nothing.
import { canceledAfter } from "../engine/cancel.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";
import type { Jobs } from "./running.ts";

export class CancelWatch {
  /** The last entry of the shard's `canceled` stream seen; the next look reads after it. */
  #last: string | null = null;

  constructor(
    private readonly client: () => Redis,
    private readonly keys: QueueKeys,
    private readonly jobs: Jobs,
  ) {}

  /** One look, if the worker runs or holds a job. */
  async look(): Promise<void> {
    if (this.jobs.size === 0 && this.jobs.held.size === 0) return;
    for (let full = true; full; ) {
      const read = await canceledAfter(this.client(), this.keys, this.#last);
      this.#last = read.last;
      full = read.full;
      for (const id of read.ids) this.jobs.cancel(id);
    }
  }
}

/** Canceled job ids a worker remembers, for entries it holds or reads after the look saw them. */
const CANCELED_REMEMBERED = 1_000;

/** The last CANCELED_REMEMBERED ids added, oldest dropped first. */
export class RecentIds {
  #ids = new Set<string>();

  add(id: string): void {
    this.#ids.delete(id);
    this.#ids.add(id);
    if (this.#ids.size > CANCELED_REMEMBERED) {
      this.#ids.delete(this.#ids.values().next().value as string);
    }
  }

  has(id: string): boolean {
    return this.#ids.size > 0 && this.#ids.has(id);
  }
}
