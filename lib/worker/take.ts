// Where a worker's next jobs come from, in order: its own pending entries after a lost read,
// then lapsed leases (both claims: lib/worker/claims.ts), then new entries (a plain
// XREADGROUP; when there are none, a bounded blocking read: here). Nothing is written when a
// job starts: the delivery is the record of it (docs/internals.md, "2. Read"). Entries that
// fail the entry check are buried alone, and those of tasks this worker lacks are left for a
// worker that has them (lib/worker/set-aside.ts); the rest of a batch runs.

import type { WorkerOptions } from "../config.ts";
import type { TakenEntry } from "../engine/finish.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { Logger } from "../log.ts";
import type { Redis } from "../redis/connect.ts";
import { watchdog } from "../redis/watchdog.ts";
import { Claims } from "./claims.ts";
import { readNew, type Startable } from "./entries.ts";
import type { WritesSeen, WrittenLog } from "./written.ts";

/** A lane's connection for taking new jobs, and what to do when it stalls. */
export interface Lane {
  client: () => Redis;
  stalled: () => void;
}

export interface Fetched {
  toRun: Startable[];
  kind: "read" | "claim";
  /** Entries delivered (run or set aside); 0 when the queue had nothing. */
  count: number;
  /**
   * A claim's: the outcomes written since it was sent. Its caller starts none of those jobs
   * again (they ended here meanwhile), then calls done().
   */
  seen?: WritesSeen;
}

const NOTHING: Fetched = { toRun: [], kind: "read", count: 0 };

/** What a Source needs to know about its worker. */
export interface TakeContext {
  o: WorkerOptions;
  keys: QueueKeys;
  tasks: ReadonlySet<string>;
  /** Redis is full: buried entries keep only their dead letter. */
  compact: () => boolean;
  /**
   * The queue's rate limits (lib/worker/limited.ts): the jobs to start now; the rest wait for
   * their slot or were given back. Absent: no limiter.
   */
  limit?: (run: Startable[], kind: "read" | "claim") => Startable[] | Promise<Startable[]>;
  /** This start's token (name.lua): an own read checks the name is still this start's. */
  start?: string;
  /**
   * Setting entries aside was refused for good (a queue-wide key of another type): true when
   * the worker stops for it, as for a refused read (Stop.refused). Absent: never.
   */
  refused?: (err: unknown) => boolean;
}

export class Source extends Claims {
  /** A lane is reading own pending entries or claiming: the other one only takes new ones. */
  #claiming = false;
  /**
   * Lanes whose last read of new entries got fewer than it asked for: the queue was empty or
   * nearly, so their next fetch blocks at once instead of first reading without blocking
   * (which would find nothing, and hold up the finish write queued behind it).
   */
  #caughtUp = new WeakSet<Lane>();
  /**
   * The blocking read in progress, if any: the lanes share one read connection, so a second
   * blocking read would wait behind the first (up to twice blockMs, past its watchdog's limit).
   */
  #blocking: Promise<unknown> | null = null;
  /** Reads in flight that do not block (new entries, own pending ones, claims). */
  #plainReads = 0;

  constructor(
    w: TakeContext,
    links: { client: () => Redis; reader: () => Redis },
    log: Logger,
    private readonly onReadStalled: () => void,
    /** True once the worker stops: deliveries read meanwhile are not run. */
    stopping: () => boolean,
    /** The outcomes this worker writes (lib/worker/written.ts): see Fetched.seen. */
    written?: WrittenLog,
    /** An own read found the name held by another start (claim.lua): the worker stops. */
    onNameTaken?: () => void,
  ) {
    super(w, links, log, stopping, written, onNameTaken);
  }

  /** The lane's last read found its stream empty: its next read of new entries blocks. */
  caughtUp(lane: Lane): boolean {
    return this.#caughtUp.has(lane);
  }

  /**
   * A read that does not block is in flight: its reply may come in the same turn as a finish,
   * and its jobs' outcomes join that finish's write if it waits for the turn (Jobs.ended,
   * lib/worker/attempt-ends.ts).
   */
  get reading(): boolean {
    return this.#plainReads > 0;
  }

  /**
   * Up to `free` jobs for a lane. One lane at a time reads own pending entries or claims; an
   * entry this worker runs already (its own claim found it) is not run twice (Jobs.launch).
   * `block` false: never a blocking read (a worker of several shards does not wait for
   * entries on slots it holds: lib/worker/slots.ts).
   */
  async next(free: number, lane: Lane, block = true): Promise<Fetched> {
    if (this.#claiming || (this.ownCursor === null && this.o.now() < this.nextClaimAt)) {
      return this.#new(free, lane, block);
    }
    this.#claiming = true;
    this.#plainReads++;
    try {
      const claimed = await this.claim(free);
      if (claimed) return claimed;
    } finally {
      this.#claiming = false;
      this.#plainReads--;
    }
    return this.#new(free, lane, block);
  }

  /** New entries: a plain read, else a blocking read when there are none. */
  async #new(free: number, lane: Lane, mayBlock: boolean): Promise<Fetched> {
    const o = this.o;
    if (this.stopping()) return NOTHING;
    if (!this.#caughtUp.has(lane) || !mayBlock) {
      const read = readNew(lane.client(), this.w.keys, o.name, free);
      this.#plainReads++;
      const taken = await watchdog(read, o.commandTimeoutMs, lane.stalled).finally(() => {
        this.#plainReads--;
      });
      if (taken.length < free) this.#caughtUp.add(lane);
      if (taken.length > 0) return this.#fresh(taken, lane.client());
    }
    if (!mayBlock) return NOTHING;
    if (this.#blocking) {
      // The other lane is blocking already: wait for its read, then look again.
      await this.#blocking.catch(() => {});
      return NOTHING;
    }
    const block = o.burst ? Math.min(o.blockMs, 250) : o.blockMs;
    const read = readNew(this.links.reader(), this.w.keys, o.name, free, block);
    const watched = watchdog(read, block + o.commandTimeoutMs, this.onReadStalled);
    this.#blocking = watched;
    const entries = await watched.finally(() => {
      this.#blocking = null;
    });
    // A full read means more may be waiting: read without blocking next time.
    if (entries.length === free) this.#caughtUp.delete(lane);
    return entries.length > 0 ? this.#fresh(entries, lane.client()) : NOTHING;
  }

  async #fresh(entries: TakenEntry[], client: Redis): Promise<Fetched> {
    const toRun = await this.sorted(this.sortFresh(entries), client, "read");
    return { toRun, kind: "read", count: entries.length };
  }
}
