// Claims: this consumer's own pending entries after a lost read (claim `own` mode: no delivery
// count bumped), else lapsed leases of workers gone (claim `others` mode, every reclaimEveryMs:
// attempts from delivery counts, jobs that used them up buried). The base of Source
// (lib/worker/take.ts), which claims before it reads new entries; the script:
// lib/engine/claim.ts.

import { type Claimed, claimLapsed, readOwnPending } from "../engine/claim.ts";
import type { Logger } from "../log.ts";
import type { Redis } from "../redis/connect.ts";
import { sortClaimed } from "./entries.ts";
import { SetAside } from "./set-aside.ts";
import type { Fetched, TakeContext } from "./take.ts";
import type { WrittenLog } from "./written.ts";

export abstract class Claims extends SetAside {
  #claimCursor = "0-0";
  protected nextClaimAt = 0;
  /** Where to go on reading this consumer's own pending entries; null: nothing to look at. */
  protected ownCursor: string | null = null;

  constructor(
    w: TakeContext,
    links: { client: () => Redis; reader: () => Redis },
    log: Logger,
    stopping: () => boolean,
    /** The outcomes this worker writes (lib/worker/written.ts): see Fetched.seen. */
    private readonly written?: WrittenLog,
    /** An own read found the name held by another start (claim.lua): the worker stops. */
    private readonly onNameTaken?: () => void,
  ) {
    super(w, links, log, stopping);
  }

  /** A read failed, and its reply may be lost: look at this consumer's own entries first. */
  readLost(): void {
    this.ownCursor = "0-0";
  }

  /** Own pending entries after a lost read, else lapsed entries (null: none). */
  protected async claim(free: number): Promise<Fetched | null> {
    const client = this.links.client();
    const own = this.ownCursor;
    // A job it names may be ending here meanwhile (its finish on another connection landing
    // after the claim ran, answered before it): what is written from now on is noted.
    const seen = this.written?.track();
    try {
      const claimed = await this.#claimOn(client, own, free);
      if (claimed) return { ...claimed, seen };
    } catch (err) {
      seen?.done();
      throw err;
    }
    seen?.done();
    return null;
  }

  async #claimOn(client: Redis, own: string | null, free: number): Promise<Fetched | null> {
    const { o, keys } = this.w;
    const start = this.w.start;
    const reply =
      own !== null
        ? await readOwnPending(client, keys, { consumer: o.name, cursor: own, count: free, start })
        : await claimLapsed(client, keys, {
            consumer: o.name,
            minIdleMs: o.claimIdleMs,
            cursor: this.#claimCursor,
            count: free,
            failureTtlS: this.w.compact() ? 0 : o.failureTtlS,
            deadMaxLen: o.deadMaxLen,
            eventsMaxLen: o.eventsMaxLen,
          });
    if (reply.taken) {
      this.onNameTaken?.(); // the entries pending on the name are another start's: none run here
      return { toRun: [], kind: "claim", count: 0 };
    }
    if (own !== null) this.ownCursor = reply.cursor === "0-0" ? null : reply.cursor;
    else {
      this.#claimCursor = reply.cursor;
      if (reply.cursor === "0-0") this.nextClaimAt = o.now() + o.reclaimEveryMs;
    }
    if (reply.claimed.length === 0) return null;
    this.#logClaimed(reply.claimed);
    const toRun = await this.sorted(
      sortClaimed(reply.claimed, this.w.tasks, keys.idSuffix),
      client,
      "claim",
    );
    return { toRun, kind: "claim", count: reply.claimed.length };
  }

  #logClaimed(claimed: readonly Claimed[]): void {
    for (const c of claimed) {
      if (c.kind === "buried") {
        const fields = { job: c.id || null, entry: c.entry, attempt: c.attempt };
        this.log.log("warn", "attempts used up by workers that stopped; dead-lettered", fields);
      } else if (c.kind === "deleted") {
        this.log.log("warn", "claimed entry was deleted", { entry: c.entry });
      }
    }
  }
}
