// Where a worker's next jobs come from, in order: its own pending entries after a lost read
// (claim `own` mode: no delivery count bumped), then lapsed leases (claim `others` mode, every
// reclaimEveryMs: attempts from delivery counts, jobs that used them up buried), then new
// entries (a plain XREADGROUP; when there are none, a bounded blocking read). Nothing is
// written when a job starts: the delivery is the record of it (docs/internals.md, "2. Read").
// Entries that fail the entry check are buried alone, and those of tasks this worker lacks
// are left for a worker that has them; the rest of a batch runs.

import type { WorkerOptions } from "../config.ts";
import { buryEntries } from "../engine/bury.ts";
import { type Claimed, claimLapsed, readOwnPending } from "../engine/claim.ts";
import type { TakenEntry } from "../engine/finish.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { leaveForOthers } from "../engine/leave.ts";
import type { Logger } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { watchdog } from "../redis/watchdog.ts";
import { readNew, type Sorted, type Startable, sortClaimed, sortFresh } from "./entries.ts";
import { deferralDelaysMs } from "./retry-policy.ts";
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
}

export class Source {
  #claimCursor = "0-0";
  #nextClaimAt = 0;
  /** Where to go on reading this consumer's own pending entries; null: nothing to look at. */
  #ownCursor: string | null = null;
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

  private readonly o: WorkerOptions;

  constructor(
    private readonly w: TakeContext,
    private readonly links: { client: () => Redis; reader: () => Redis },
    private readonly log: Logger,
    private readonly onReadStalled: () => void,
    /** True once the worker stops: deliveries read meanwhile are not run. */
    private readonly stopping: () => boolean,
    /** The outcomes this worker writes (lib/worker/written.ts): see Fetched.seen. */
    private readonly written?: WrittenLog,
    /** An own read found the name held by another start (claim.lua): the worker stops. */
    private readonly onNameTaken?: () => void,
  ) {
    this.o = w.o;
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

  /** A read failed, and its reply may be lost: look at this consumer's own entries first. */
  readLost(): void {
    this.#ownCursor = "0-0";
  }

  /**
   * Up to `free` jobs for a lane. One lane at a time reads own pending entries or claims; an
   * entry this worker runs already (its own claim found it) is not run twice (Jobs.launch).
   * `block` false: never a blocking read (a worker of several shards does not wait for
   * entries on slots it holds: lib/worker/slots.ts).
   */
  async next(free: number, lane: Lane, block = true): Promise<Fetched> {
    if (this.#claiming || (this.#ownCursor === null && this.o.now() < this.#nextClaimAt)) {
      return this.#new(free, lane, block);
    }
    this.#claiming = true;
    this.#plainReads++;
    try {
      const claimed = await this.#claim(free);
      if (claimed) return claimed;
    } finally {
      this.#claiming = false;
      this.#plainReads--;
    }
    return this.#new(free, lane, block);
  }

  /** Own pending entries after a lost read, else lapsed entries (null: none). */
  async #claim(free: number): Promise<Fetched | null> {
    const client = this.links.client();
    const own = this.#ownCursor;
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
    if (own !== null) this.#ownCursor = reply.cursor === "0-0" ? null : reply.cursor;
    else {
      this.#claimCursor = reply.cursor;
      if (reply.cursor === "0-0") this.#nextClaimAt = o.now() + o.reclaimEveryMs;
    }
    if (reply.claimed.length === 0) return null;
    this.#logClaimed(reply.claimed);
    const toRun = await this.#sorted(
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
    const toRun = await this.#sorted(this.#sortFresh(entries), client, "read");
    return { toRun, kind: "read", count: entries.length };
  }

  /**
   * Entries a finish took for this worker (lib/worker/outcomes.ts): the jobs to run; at once
   * (not through a promise) when none is to be set aside and no rate limit applies, the
   * common case at concurrency 1.
   */
  taken(entries: TakenEntry[]): Startable[] | Promise<Startable[]> {
    const s = this.#sortFresh(entries);
    const plain = !this.w.limit && s.bad.length === 0 && s.lacked.length === 0;
    if (plain && !this.stopping()) return s.run;
    return this.#sorted(s, this.links.client(), "read");
  }

  #sortFresh(entries: readonly TakenEntry[]): Sorted {
    return sortFresh(entries, this.w.tasks, this.w.keys.idSuffix);
  }

  /**
   * The jobs to run; the rest is set aside first (buried, or left for another worker). Setting
   * aside that fails (Redis away) leaves those entries pending here: found again by reading
   * own pending entries, without an attempt counted.
   */
  async #sorted(s: Sorted, client: Redis, kind: "read" | "claim"): Promise<Startable[]> {
    // Stopping meanwhile: nothing is run or set aside; stop() releases what is pending.
    if (this.stopping()) return [];
    const limit = this.w.limit;
    if (s.bad.length === 0 && s.lacked.length === 0) return limit ? limit(s.run, kind) : s.run;
    await Promise.all([this.#bury(s, client), this.#leave(s, client)]).catch((err) => {
      this.log.log("warn", "could not set entries aside; looking again", {
        error: describeCause(err),
      });
      this.readLost();
    });
    return limit ? limit(s.run, kind) : s.run;
  }

  async #bury(s: Sorted, client: Redis): Promise<void> {
    if (s.bad.length === 0) return;
    const { o } = this.w;
    const bo = { consumer: o.name, failureTtlS: this.w.compact() ? 0 : o.failureTtlS };
    await buryEntries(client, this.w.keys, { ...bo, ...deadLimits(o) }, s.bad);
    for (const b of s.bad) {
      const fields = { job: b.id || null, entry: b.entryId, problem: b.problem };
      this.log.log("error", "corrupt record: dead-lettered", fields);
    }
  }

  async #leave(s: Sorted, client: Redis): Promise<void> {
    if (s.lacked.length === 0) return;
    const left = s.lacked.map((l) => ({ entry: l.entryId, id: null, task: l.task }));
    const delays = deferralDelaysMs(this.o.random);
    const verdicts = await leaveForOthers(client, this.w.keys, this.o.name, delays, left);
    for (const [i, l] of s.lacked.entries()) {
      const v = verdicts[i];
      const fields = { job: l.jobId, entry: l.entryId, task: l.task };
      if (v === "deferred") this.log.log("info", LEFT.deferred, fields);
      else if (v === "parked") this.log.log("warn", LEFT.parked, fields);
    }
  }
}

function deadLimits(o: WorkerOptions) {
  return { deadMaxLen: o.deadMaxLen, eventsMaxLen: o.eventsMaxLen };
}

/** Why an entry was left without running it, for the worker's log. */
const LEFT = {
  deferred: "not a task of this worker; left for a worker that has it",
  parked: "no live worker has this task; the job waits for one",
} as const;
