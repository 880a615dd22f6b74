// Where a worker's next jobs come from, in order: its own pending entries after a lost read,
// then lapsed leases of other workers (XAUTOCLAIM, every reclaimEveryMs), then new entries
// (read and started in one script call; when there are none, a bounded blocking read). Keeps
// the cursors of the first two between turns. Every delivery is started before it is handed
// on: the start script says which ones to run.

import type { WorkerOptions } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { Logger } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { watchdog } from "../redis/watchdog.ts";
import {
  claimIdle,
  type Delivery,
  readNew,
  readOwnPending,
  type StartContext,
  type Started,
  startBatch,
  takeBatch,
} from "./entries.ts";
import { dropIfNoRecord, refusedOverOneRecord } from "./outcomes.ts";

/** A lane's connection for taking and starting new jobs, and what to do when it stalls. */
export interface Lane {
  client: () => Redis;
  stalled: () => void;
}

export interface Fetched extends Started {
  kind: "read" | "claim";
  /** Entries delivered (to run or set aside); 0 when the queue had nothing. */
  count: number;
}

const NOTHING: Fetched = { toRun: [], setAside: [], kind: "read", count: 0 };

export class Source {
  #claimCursor = "0-0";
  #nextClaimAt = 0;
  /** Where to go on reading this consumer's own pending entries; null: nothing to look at. */
  #ownCursor: string | null = null;
  /** A lane is reading own pending entries or claiming: the other one only takes new ones. */
  #claiming = false;
  /**
   * Lanes whose last fetch of new entries got fewer than it asked for: the queue was empty or
   * nearly, so their next fetch blocks at once instead of first taking (which would find
   * nothing, and hold up the finish write queued behind it on the same connection).
   */
  #caughtUp = new WeakSet<Lane>();
  /**
   * The blocking read in progress, if any: the lanes share one read connection, so a second
   * blocking read would wait behind the first (up to twice blockMs, past its watchdog's limit).
   */
  #blocking: Promise<unknown> | null = null;

  private readonly o: WorkerOptions;
  private readonly keys: QueueKeys;

  constructor(
    /** Who starts: keys, options, and the tasks this worker has (see lib/worker/entries.ts). */
    private readonly w: StartContext,
    private readonly links: { client: () => Redis; reader: () => Redis },
    private readonly log: Logger,
    private readonly onReadStalled: () => void,
    /** True once the worker stops: deliveries read meanwhile are not started. */
    private readonly stopping: () => boolean,
  ) {
    this.o = w.o;
    this.keys = w.keys;
  }

  /** A read failed, and its reply may be lost: look at this consumer's own entries first. */
  readLost(): void {
    this.#ownCursor = "0";
  }

  /**
   * Up to `free` jobs for a lane. An entry this worker runs already (its lease lapsed while it
   * stalled, and its own claim found it) is harmless here: the start script gives back the run
   * it started, without counting an attempt, and Jobs.launch does not run an entry twice.
   * One lane at a time reads own pending entries or claims; new jobs come on the lane's own
   * connection.
   */
  async next(free: number, lane: Lane): Promise<Fetched> {
    if (this.#claiming || (this.#ownCursor === null && this.o.now() < this.#nextClaimAt)) {
      return this.#new(free, lane);
    }
    this.#claiming = true;
    try {
      const claimed = await this.#claim(free);
      if (claimed) return claimed;
    } finally {
      this.#claiming = false;
    }
    return this.#new(free, lane);
  }

  /** Own pending entries after a lost read, else lapsed entries of others (null: none). */
  async #claim(free: number): Promise<Fetched | null> {
    const o = this.o;
    const name = o.name;
    if (this.#ownCursor !== null) {
      const got = await readOwnPending(this.links.client(), this.keys, name, free, this.#ownCursor);
      this.#ownCursor = got.length < free ? null : got[got.length - 1]!.entryId;
      if (got.length > 0) return this.#start(got, "claim");
    } else {
      const c = await claimIdle(this.links.client(), this.keys, name, o, this.#claimCursor, free);
      this.#claimCursor = c.cursor;
      if (c.cursor === "0-0") this.#nextClaimAt = o.now() + o.reclaimEveryMs;
      for (const id of c.deleted) this.log.log("warn", "claimed entry was deleted", { entry: id });
      if (c.claimed.length > 0) return this.#start(c.claimed, "claim");
    }
    return null;
  }

  /** New entries: taken and started in one call, else a blocking read when there are none. */
  async #new(free: number, lane: Lane): Promise<Fetched> {
    const o = this.o;
    const name = o.name;
    if (this.stopping()) return NOTHING;
    if (!this.#caughtUp.has(lane)) {
      const take = takeBatch(lane.client(), this.w, free);
      const taken = await watchdog(take, o.commandTimeoutMs, lane.stalled).catch((err) =>
        this.#takeRefused(err),
      );
      if (!taken) return NOTHING;
      const count = taken.toRun.length + taken.setAside.length;
      if (count < free) this.#caughtUp.add(lane);
      if (count > 0 || this.stopping()) return { ...taken, kind: "read", count };
    }
    if (this.#blocking) {
      // The other lane is blocking already: wait for its read, then look again.
      await this.#blocking.catch(() => {});
      return NOTHING;
    }
    const block = o.burst ? Math.min(o.blockMs, 250) : o.blockMs;
    const read = readNew(this.links.reader(), this.keys, name, free, block);
    const watched = watchdog(read, block + o.commandTimeoutMs, this.onReadStalled);
    this.#blocking = watched;
    const deliveries = await watched.finally(() => {
      this.#blocking = null;
    });
    // A full read means more may be waiting: take again next time.
    if (deliveries.length === free) this.#caughtUp.delete(lane);
    return deliveries.length > 0 ? this.#start(deliveries, "read", lane.client()) : NOTHING;
  }

  async #start(
    deliveries: Delivery[],
    kind: "read" | "claim",
    client = this.links.client(),
  ): Promise<Fetched> {
    // Stopping meanwhile: start nothing; the entries stay pending and stop() releases them.
    if (this.stopping()) return { ...NOTHING, kind, count: deliveries.length };
    // A queue-wide key of the wrong type is no one entry's fault: the read loop backs off and
    // the entries stay pending on this consumer (read again after the failed read).
    const started = await startBatch(client, this.w, deliveries, kind)
      .catch((err) => {
        if (!refusedOverOneRecord(err) || deliveries.length === 1) throw err;
        return this.#startEach(deliveries, kind, client);
      })
      .catch((err) => {
        if (!refusedOverOneRecord(err)) throw err;
        return this.#setAside(deliveries[0]!, err, client);
      });
    return { ...started, kind, count: deliveries.length };
  }

  /**
   * A take Redis refused over one record (a script error): what it read is pending on this
   * consumer, and is started entry by entry from there on the next turn, so that only the bad
   * one is set aside. Other errors are the read loop's to handle.
   */
  #takeRefused(err: unknown): null {
    if (!refusedOverOneRecord(err)) throw err;
    this.log.log("error", "start refused; starting entries one by one", {
      error: describeCause(err),
    });
    this.readLost();
    return null;
  }

  /** Starts deliveries one by one: a start Redis refuses sets only that entry aside. */
  async #startEach(deliveries: Delivery[], kind: "read" | "claim", client: Redis) {
    const each = await Promise.all(
      deliveries.map((d) =>
        startBatch(client, this.w, [d], kind).catch((err) => {
          if (!refusedOverOneRecord(err)) throw err;
          return this.#setAside(d, err, client);
        }),
      ),
    );
    return { toRun: each.flatMap((e) => e.toRun), setAside: each.flatMap((e) => e.setAside) };
  }

  /**
   * An entry no start could read. Acknowledged (the worker logs it as a corrupt record) only
   * when its job key holds no record to lose (not a hash, gone, or no job id); an entry whose
   * job has a record stays pending, and is claimed and started again after claimIdleMs.
   */
  async #setAside(d: Delivery, err: unknown, client: Redis): Promise<Started> {
    const problem = `start refused: ${describeCause(err)}`;
    if (!(await dropIfNoRecord(client, this.keys, d.entryId, d.jobId))) {
      this.log.log("error", "start refused; entry left pending for a claim", {
        job: d.jobId,
        entry: d.entryId,
        problem,
      });
      return { toRun: [], setAside: [] };
    }
    return { toRun: [], setAside: [{ ...d, verdict: "unreadable", problem }] };
  }
}
