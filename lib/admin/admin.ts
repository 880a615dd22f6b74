// The operator's view of a queue, for `info`, `dead` and the dashboard: what it reads (numbers,
// workers, jobs, dead letters, limits, recent failures, metrics) is QueueReader's
// (queue-reader.ts); what it changes is here: pause, limits and holds, empty, requeue, delete
// and purge dead letters, cancel, create the queue. Nothing here is on a job's hot path. This
// class is the one entry: the dead-letter actions are in dead-actions.ts, pause/limits/empty in
// controls.ts, the reads in queue-view.ts, and the shards each call spreads over (keys, clocks)
// in queue-shards.ts.

import { type DefaultKey, defaults, type QueueOptions } from "../config.ts";
import type { Emptied } from "../engine/empty.ts";
import type { Limits, LimitsChange } from "../engine/limits.ts";
import { InputError } from "../errors.ts";
import { keysOf, kindOf } from "../option-keys.ts";
import { checkWindowS, resolveOptions } from "../options.ts";
import { checkCallOptions, checkFunction, checkIds, checkObject } from "../queue/call-args.ts";
import { type CancelVerdict, cancelOnShards } from "../queue/cancel.ts";
import { closeClient } from "../redis/close.ts";
import type { Redis } from "../redis/connect.ts";
import { CallGate } from "../redis/gate.ts";
import { connectService } from "../redis/service-client.ts";
import * as control from "./controls.ts";
import * as dead from "./dead-actions.ts";
import type { RequeueAllTally } from "./letters.ts";
import { type AdminOptions, QueueReader } from "./queue-reader.ts";

/** setLimits' change: the limits a queue has. */
const LIMITS_KEYS = keysOf<Limits>()(["rate", "keyConcurrency", "keyRate"]);

export type { Overview, RecentFailure } from "./queue-view.ts";

export interface AdminConfig extends Partial<QueueOptions> {
  /** Keep trying to reach Redis this long before giving up (0 = one try). */
  retryConnectS?: number;
  /** Attempts a requeued job gets when its dead letter does not say (older letters). */
  maxAttempts?: number;
}

/** An Admin's options beside resolveOptions' own (AdminConfig). */
export const ADMIN_KEYS = keysOf<Omit<AdminConfig, DefaultKey>>()(["retryConnectS"]);

export class Admin extends QueueReader {
  #owner: boolean;

  private constructor(client: Redis, options: AdminOptions, owner: boolean, gate?: CallGate) {
    super(client, options, gate ?? new CallGate("Admin", "Admin.connect"));
    this.#owner = owner;
  }

  /** Connects (throws ConnectError naming the URL, password masked, and the cause). */
  static async connect(config: AdminConfig = {}): Promise<Admin> {
    const options = resolveOptions(config, ADMIN_KEYS);
    checkWindowS(config, "retryConnectS");
    const client = await connectService(options, "courier-admin", {
      retryConnectS: config.retryConnectS,
    });
    const admin = new Admin(client, options, true);
    try {
      // A `shards` option that differs from the queue's is refused now, as a Queue's is.
      if (options.shards !== undefined) await admin.queueShards.layout(false, options.shards);
      await admin.checkFormat();
    } catch (err) {
      await admin.close();
      throw err;
    }
    return admin;
  }

  /**
   * Creates the queue with `shards` shards (default: the `shards` option, else 1): records its
   * layout, as its first worker or producer would, so later ones spread over those shards.
   * A queue that exists keeps its count: another `shards` throws a ConfigError (nothing is
   * written). Returns the queue's shard count.
   */
  async createQueue(options: { shards?: number } = {}): Promise<number> {
    // `{ shard: 6 }` made a queue of 1 shard, for good: a key it does not take is an InputError.
    checkCallOptions(options, "createQueue", ["shards"]);
    // Only undefined is "not given": a null count is refused below, as connect's.
    const shards = options.shards === undefined ? this.options.shards : options.shards;
    // A count out of range: ConfigError, as connect's.
    resolveOptions({ ...this.options, shards }, ADMIN_KEYS);
    return this.call(() => this.queueShards.layout(true, shards));
  }

  /** The same view of another queue, on this connection (closing it closes nothing). */
  forQueue(queue: string): Admin {
    const options = resolveOptions({ ...this.options, queue }, ADMIN_KEYS);
    return new Admin(this.client, options, false, this.gate);
  }

  /**
   * Pauses the queue (docs/internals.md, "Pause"): its workers start no new job within
   * pauseCheckMs, and finish those they run; it holds across their restarts. False when it
   * was paused already (nothing changed).
   */
  pause(): Promise<boolean> {
    return this.call(() => control.setPaused(this.queueShards, true));
  }

  /** Resumes a paused queue; false when it was not paused. */
  resume(): Promise<boolean> {
    return this.call(() => control.setPaused(this.queueShards, false));
  }

  /**
   * Changes the queue's rate limits: a value sets one, null removes it, absent leaves it.
   * Workers follow within pauseCheckMs; the limiter itself reads them at each decision.
   * `tell` hears, a line each, the bad records a key rate change's wake of held jobs settled
   * (a limit key's hash of another type, held members naming no shard).
   */
  async setLimits(change: LimitsChange, tell?: (line: string) => void): Promise<Limits> {
    checkObject(change, "setLimits", LIMITS_KEYS);
    checkFunction(tell, "setLimits' tell");
    return this.call(() => control.setLimits(this.queueShards, change, tell));
  }

  /**
   * Holds limit key `key` for `holdMs` (e.g. a host's Retry-After): no job of the key starts
   * until then, on any worker. Returns the hold's end (Redis' ms).
   */
  holdKey(key: string, holdMs: number): Promise<number> {
    return this.call(() => control.holdLimitKey(this.queueShards, key, holdMs));
  }

  /**
   * Removes every waiting, delayed and parked job, shard by shard in chunks, each chunk one
   * script (lib/engine/lua/empty.lua); running jobs are untouched; one other jobs wait for
   * ends canceled, as Admin.cancel would. Returns how many went.
   */
  empty(): Promise<Emptied> {
    return this.call(() => control.emptyQueue(this.queueShards, defaults.failureTtlS));
  }

  /**
   * Requeues dead jobs by id: each runs again with a fresh attempt count, its history kept.
   * An id given twice is requeued, and answered, once; an id whose keys Redis refuses is
   * `unreadable` (with its `reason`), and the others are still requeued. A call that fails
   * otherwise (a full Redis) after others were done leaves its ids and the later ones `failed`
   * (with the `error`); when nothing was done, that error is thrown.
   */
  async requeue(given: readonly string[]): Promise<dead.RequeueResult[]> {
    checkIds(given, "requeue");
    return this.call(() => dead.requeueDead(this.queueShards, given, this.#o()));
  }

  /**
   * Requeues every job dead now, shard by shard; returns how many. A failure part-way (a full
   * Redis, a lost connection) is thrown, as before: requeueAllTally says what was done then.
   */
  async requeueAll(): Promise<number> {
    const tally = await this.requeueAllTally();
    if (tally.error !== undefined) throw tally.error;
    return tally.requeued;
  }

  /**
   * As requeueAll, with how many letters were left because their job's record or failed value
   * is a key of another type (`unreadable`), the first of them named (`first`: id, reason).
   */
  requeueAllTally(): Promise<RequeueAllTally> {
    return this.call(() => dead.requeueAllDead(this.queueShards, this.#o()));
  }

  /**
   * Deletes dead jobs (letter, failed outcome and record); returns the ids deleted (those of a
   * call that failed after another shard's was done are not: deleteDeadEach says which).
   */
  async deleteDead(given: readonly string[]): Promise<string[]> {
    const each = await this.deleteDeadEach(given);
    return each.filter((d) => d.verdict === "deleted").map((d) => d.id);
  }

  /**
   * As deleteDead, with what became of each id: deleted, missing (no dead letter), unreadable
   * (Redis refused its keys; `reason`): one such id leaves the others deleted; or failed (its
   * shard's call failed after another shard's was done; `error`), as Admin.requeue.
   */
  async deleteDeadEach(given: readonly string[]): Promise<dead.DeleteResult[]> {
    checkIds(given, "deleteDead");
    return this.call(() => dead.deleteDead(this.queueShards, given));
  }

  /** Deletes dead letters older than `olderThanMs` (all when not given); returns how many. */
  async purgeDead(olderThanMs?: number): Promise<number> {
    // NaN would purge nothing and say so; a negative age, letters from the future: all of them.
    // Any age past every letter is every letter (`dead purge --older-than 36600d`), as before.
    const age = olderThanMs;
    if (age !== undefined && !(typeof age === "number" && Number.isFinite(age) && age >= 0)) {
      throw new InputError(
        `purgeDead's olderThanMs must be a number of ms, 0 or more, got ${kindOf(age)}`,
      );
    }
    return this.call(() => dead.purgeDead(this.queueShards, olderThanMs));
  }

  /** Cancels jobs (Queue.cancel, for the dashboard): per id, what became of it. */
  async cancel(ids: readonly string[]): Promise<CancelVerdict[]> {
    checkIds(ids, "cancel");
    const o = { failureTtlS: defaults.failureTtlS, eventsMaxLen: defaults.eventsMaxLen };
    const shards = () => this.queueShards.shards();
    return this.call(async () => cancelOnShards(this.client, await shards(), ids, o));
  }

  async close(): Promise<void> {
    // Calls refused from now; those under way get their replies (lib/redis/gate.ts).
    if (this.#owner) await closeClient(this.client, undefined, this.gate.close());
  }

  /** `await using admin = await Admin.connect(…)`: closed as the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #o() {
    return { maxAttempts: this.options.maxAttempts };
  }
}
