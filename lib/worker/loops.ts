// The read loops ("lanes"): each claims lapsed entries when due, else takes new jobs (blocking
// when there are none), starts them and hands them to Jobs, for as long as slots are free.
//
// From LANE_MIN_CONCURRENCY on, two lanes share the slots, each on its own connection, and
// outcomes are written on the two in turn (lib/worker/outcome-writes.ts). Redis answers the commands that
// reach it together in one go: with a single connection it sits idle while the worker handles
// a reply, and the worker sits idle while Redis works. With two, one lane's calls are answered
// while the worker handles the other's (measured in docs/performance.md).
//
// What a read brings starts in the base class (lib/worker/lane-starts.ts), as do the entries a
// finish takes below LANE_MIN_CONCURRENCY.

import type { WorkerOptions } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { Logger } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { pause } from "../time.ts";
import { ensureGroup } from "./entries.ts";
import { LaneStarts } from "./lane-starts.ts";
import type { Jobs } from "./running.ts";
import type { Slots } from "./slots.ts";
import type { Lane, Source } from "./take.ts";

/** From this concurrency on, a worker takes jobs in two lanes. */
export const LANE_MIN_CONCURRENCY = 16;

export interface LaneDeps {
  o: WorkerOptions;
  keys: QueueKeys;
  jobs: Jobs;
  source: Source;
  log: Logger;
  /** The command connection (for re-creating the group, and burst mode's exit test). */
  client: () => Redis;
  /**
   * The stream vanished (NOGROUP): the queue made again as the worker opened it, before its
   * group (lib/worker/remake.ts); a refusal (made again otherwise) stops the worker.
   */
  remake?: () => Promise<void>;
  stopping: () => boolean;
  /**
   * How many of `n` jobs may start now, taken from the memory budget (lib/redis/memory.ts); 0 =
   * none for now (Redis is full past the headroom, or its memory is being read): wake() then.
   */
  take: (n: number) => number;
  /**
   * The queue is paused (lib/worker/pause.ts): the loops read nothing, and what a read in
   * flight brings is held, pending here and leased, until the pause ends (wake() then).
   */
  paused?: () => boolean;
  /**
   * Whether a failed read was refused for good (a queue key of another type, NOPERM): the loop
   * then ends rather than retry for ever, and the worker stops (it is told here).
   */
  refused: (err: unknown) => boolean;
  /** The wait before reading again after the `failures`-th failed read in a row (0 first). */
  retryMs: (failures: number) => number;
  /**
   * The slots this worker's shards share (lib/worker/slots.ts); a worker of one shard may leave
   * it out (its loops then have slots of their own).
   */
  slots?: Slots;
  /** The rank of this shard's queue among a worker's queues (lib/worker/order.ts; 0 first). */
  rank?: number;
  /** Entries to hold beyond the slots (lib/worker/prefetch.ts); 0 or absent: none. */
  prefetch?: number;
  /** Whether to prefetch none for now (the queue has rate limits, Redis is full). */
  refrain?: () => boolean;
  /** Redis is full past the memory budget: held entries are kept, not given back. */
  full?: () => boolean;
  /** This start's token (name.lua), for the give-backs of held entries. */
  start: string;
}

export class Lanes extends LaneStarts {
  /** Monotonic ms of a loop's last turn, for /livez. */
  lastTurn = performance.now();
  /** Loops still running: each takes its share of the slots (burst mode ends them one by one). */
  #running = 0;

  /** Runs one loop per lane; resolves when all have ended (the worker stops, or burst ends). */
  run(lanes: readonly Lane[]): Promise<void> {
    this.#running = lanes.length;
    return Promise.all(lanes.map((lane) => this.#loop(lane))).then(() => {});
  }

  async #loop(lane: Lane): Promise<void> {
    try {
      await this.#turns(lane);
    } finally {
      this.#running--;
      this.wake();
    }
  }

  async #turns(lane: Lane): Promise<void> {
    const rank = this.d.rank ?? 0;
    /** This loop's place in the line for slots while it waits (Slots.wait). */
    const line = { ticket: null as number | null };
    try {
      await this.#turnsIn(lane, rank, line);
    } finally {
      this.slots.served(line.ticket, rank); // an ended loop leaves the line
    }
  }

  /**
   * The loop's turns: each takes the slots it may fill (or waits in line for them; an idle read
   * takes none), then reads. The steps are methods, not closures: a turn runs per read, which
   * may be once per job.
   */
  async #turnsIn(lane: Lane, rank: number, line: { ticket: number | null }): Promise<void> {
    const shared = this.slots;
    let failures = 0;
    while (!this.d.stopping()) {
      this.lastTurn = performance.now();
      const idle = this.#idle(lane);
      if (this.d.paused?.()) {
        // Paused: not even an idle read (its entry would wait here), and out of the line for
        // slots (a paused queue wants none: a worker's other queues take them); wake() on resume.
        this.#leaveLine(line, rank);
        await shared.nextWake();
        continue;
      }
      let free = 0;
      if (!idle) {
        free = this.#slotsNow(rank);
        if (free <= 0) {
          line.ticket ??= shared.ticket(rank);
          await shared.wait(line.ticket);
          continue;
        }
        this.#leaveLine(line, rank);
      }
      this.#readBegins(idle, free, rank);
      const ahead = this.#askAhead(idle);
      try {
        const got = await this.fetch(idle ? 1 : free, lane, shared.shared ? idle : null, ahead);
        failures = 0;
        if (got === 0 && this.d.o.burst && (await this.#drained())) return;
      } catch (err) {
        if (this.d.stopping() || this.d.refused(err)) return;
        await this.#recover(err, failures++);
      } finally {
        this.#readEnds(idle, free, rank);
      }
    }
  }

  /**
   * Several shards, this one empty at the last read: wait for its next entry holding no slot
   * (lib/worker/slots.ts); one with an entry held already waits for a slot first.
   */
  #idle(lane: Lane): boolean {
    return this.slots.shared && this.d.source.caughtUp(lane) && this.d.jobs.held.size === 0;
  }

  /**
   * The slots this loop may fill now: its share of the concurrency (the loops still running
   * split it), as far as slots are free for its rank and the memory budget grants them; 0: none.
   */
  #slotsNow(rank: number): number {
    const share = Math.ceil(this.d.o.concurrency / this.#running);
    const slots = Math.min(share, this.slots.free(rank));
    return slots > 0 ? this.d.take(slots) : 0;
  }

  /** Out of the line for slots: the loop got its slots, or wants none for now (paused). */
  #leaveLine(line: { ticket: number | null }, rank: number): void {
    this.slots.served(line.ticket, rank);
    line.ticket = null;
  }

  /** Take mode with prefetch: entries to hold beyond the slots, asked for in the same read. */
  #askAhead(idle: boolean): number {
    const ahead = idle || this.prefetch === null ? 0 : this.prefetch.room();
    if (ahead > 0) this.prefetch!.asked += ahead;
    return ahead;
  }

  /**
   * A read begins: its slots are reserved until it ends. A read with slots in hand may bring
   * more of this rank's jobs: later ranks wait for it.
   */
  #readBegins(idle: boolean, free: number, rank: number): void {
    this.slots.reserved += free;
    if (!idle) this.slots.reading(rank, 1);
  }

  /** The read ended (jobs started or held, or it failed): its slots freed, the loops woken. */
  #readEnds(idle: boolean, free: number, rank: number): void {
    if (!idle) this.slots.reading(rank, -1);
    this.slots.reserved -= free;
    this.wake();
  }

  async #recover(err: unknown, failures: number): Promise<void> {
    // A read whose reply was lost may have left entries pending on us: look there first.
    this.d.source.readLost();
    const message = describeCause(err);
    if (message.startsWith("NOGROUP")) {
      // The stream (and its group) vanished: a FLUSHALL, or a restart without persistence.
      // Made again: read at once; not made (Redis away): wait below, never spin; the queue
      // made again by another (another count or format): the worker stops (refused).
      const made = (this.d.remake?.() ?? Promise.resolve())
        .then(() => ensureGroup(this.d.client(), this.d.keys))
        .then(() => true);
      if (await made.catch((e: unknown) => this.d.refused(e) && false)) return;
    }
    const waitMs = this.d.retryMs(failures);
    this.d.log.log("warn", "read failed, retrying", { error: message, retryInMs: waitMs });
    await pause(waitMs, this.halt.signal);
  }

  /**
   * Nothing waiting, delayed, waiting for parents or in flight anywhere in the queue (burst
   * mode's exit test). A
   * lane that ends leaves the other to finish what its fetch in flight brings; the worker stops
   * once both have ended.
   */
  async #drained(): Promise<boolean> {
    const { jobs, keys } = this.d;
    if (jobs.inFlight > 0 || jobs.held.size > 0 || jobs.outcomes.size > 0) return false;
    const client = this.d.client();
    // Jobs waiting for their parents, and ended parents whose children are still to be told
    // (docs/internals.md, "10. Dependencies and batches"), are work to come as well; a child
    // still being registered (or left so by a producer that stopped) is its producer's, not.
    const [entries, delayed, children, registering, ended] = await Promise.all([
      client.sendCommand<number>(["XLEN", keys.stream]),
      client.sendCommand<number>(["ZCARD", keys.delayed]),
      client.sendCommand<number>(["ZCARD", keys.children]),
      client.sendCommand<number>(["ZCARD", keys.registering]),
      client.sendCommand<number>(["ZCARD", keys.endedParents]),
    ]);
    const waiting = Number(children) - Number(registering);
    return [entries, delayed, ended].every((n) => Number(n) === 0) && waiting <= 0;
  }
}
