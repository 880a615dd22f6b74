// The operator's view of a queue, for `info`, `dead` and the dashboard: numbers, workers, dead
// letters (requeue, delete, purge), recent failures and Prometheus metrics. Nothing here is on
// a job's hot path; every read is bounded (no scan grows with the number of jobs), except the
// fallback search for a dead letter whose job record has expired. This class is the one entry:
// the dead-letter actions are in dead-actions.ts, pause/limits/empty in controls.ts, the reads
// (overview, jobs, workers, failures, metrics) in queue-view.ts, and the shards each call
// spreads over (keys, clocks) in queue-shards.ts.

import { defaults, type QueueOptions } from "../config.ts";
import type { Emptied } from "../engine/empty.ts";
import { checkFormat } from "../engine/format.ts";
import type { HeldKey } from "../engine/held-keys.ts";
import { type QueueKeys, queueKeys } from "../engine/keys.ts";
import type { Limits, LimitsChange } from "../engine/limits.ts";
import { resolveOptions } from "../options.ts";
import { type CancelVerdict, cancelOnShards } from "../queue/cancel.ts";
import { redisNowMs } from "../redis/clock.ts";
import { closeClient } from "../redis/close.ts";
import { mastersOf } from "../redis/cluster.ts";
import type { Redis } from "../redis/connect.ts";
import { connectService } from "../redis/service-client.ts";
import type { JobRecord } from "../types.ts";
import * as control from "./controls.ts";
import * as dead from "./dead-actions.ts";
import { findQueues, type Placement, placement, queueExists, serverOf } from "./discover.ts";
import type { JobsPage, JobsQuery } from "./jobs.ts";
import type { DeadLetter, DeadPage } from "./letters.ts";
import type { LimitsView } from "./limits-view.ts";
import { QueueShards } from "./queue-shards.ts";
import type { Overview, RecentFailure } from "./queue-view.ts";
import * as view from "./queue-view.ts";
import type { WorkerInfo } from "./workers.ts";

export type { Overview, RecentFailure } from "./queue-view.ts";

export interface AdminConfig extends Partial<QueueOptions> {
  /** Keep trying to reach Redis this long before giving up (0 = one try). */
  retryConnectS?: number;
  /** Attempts a requeued job gets when its dead letter does not say (older letters). */
  maxAttempts?: number;
}

export class Admin {
  readonly client: Redis;
  readonly options: QueueOptions & { maxAttempts: number };
  /**
   * The keys under the queue's own tag `{queue}`: a one-shard queue's all; with N > 1 only its
   * layout (`meta`) is there. Every shard's keys: shards().
   */
  readonly keys: QueueKeys;
  #owner: boolean;
  /** The queue's shards: their keys, clocks, and which one an id lives in. */
  #shards: QueueShards;

  private constructor(client: Redis, options: Admin["options"], owner: boolean) {
    this.client = client;
    this.options = options;
    this.keys = queueKeys(options.prefix, options.queue);
    this.#owner = owner;
    this.#shards = new QueueShards(client, options.prefix, options.queue);
  }

  /** Connects (throws ConnectError naming the URL, password masked, and the cause). */
  static async connect(config: AdminConfig = {}): Promise<Admin> {
    const options = resolveOptions(config);
    const client = await connectService(options, "courier-admin", {
      retryConnectS: config.retryConnectS,
    });
    const admin = new Admin(client, options, true);
    try {
      // A `shards` option that differs from the queue's is refused now, as a Queue's is.
      if (options.shards !== undefined) await admin.#shards.layout(false, options.shards);
      await admin.checkFormat();
    } catch (err) {
      await admin.close();
      throw err;
    }
    return admin;
  }

  /**
   * Refuses (RedisRefusedError, one line) a queue whose data is in another format than this
   * Courier's: read, it would be misread. One HGET; a queue without a format yet passes.
   */
  async checkFormat(): Promise<void> {
    await Promise.all((await this.shards()).map((keys) => checkFormat(this.client, keys)));
  }

  /**
   * Every shard's keys, shard s at index s, from the queue's layout (read once it is recorded;
   * a queue with none yet is read as one shard, and looked at again next time).
   */
  shards(): Promise<QueueKeys[]> {
    return this.#shards.shards();
  }

  /**
   * Creates the queue with `shards` shards (default: the `shards` option, else 1): records its
   * layout, as its first worker or producer would, so later ones spread over those shards.
   * A queue that exists keeps its count: another `shards` throws a ConfigError (nothing is
   * written). Returns the queue's shard count.
   */
  async createQueue({ shards = this.options.shards }: { shards?: number } = {}): Promise<number> {
    resolveOptions({ ...this.options, shards }); // a count out of range: ConfigError, as connect's
    return this.#shards.layout(true, shards);
  }

  /** Each shard's slot and node (info's placement). */
  async placement(): Promise<Placement[]> {
    return placement(this.client, await this.shards(), serverOf(this.options.redisUrl));
  }

  /** The same view of another queue, on this connection (closing it closes nothing). */
  forQueue(queue: string): Admin {
    const options = resolveOptions({ ...this.options, queue });
    return new Admin(this.client, options, false);
  }

  /**
   * Whether this queue exists: its stream, delayed set, dead letters or counters do (the stream
   * and the counters outlive its jobs, so an empty queue exists). A key of another type is a queue all the
   * same, reported as unreadable rather than unknown.
   */
  async exists(): Promise<boolean> {
    return queueExists(this.client, await this.shards());
  }

  /**
   * Queue names under this prefix, found with SCAN: for `info` and the dashboard. A queue is
   * found by the keys `exists()` tests (stream, delayed set, dead letters, stats), so every
   * queue found is one `exists()` says is there, and the other way round; a queue of N > 1
   * shards by its layout and one of its shards' keys, never as its shards' tags (discover.ts).
   * `nodes`: the servers to scan (every master of a cluster), this one by default.
   */
  async findQueues(nodes?: readonly Redis[]): Promise<string[]> {
    // On a cluster every master holds some queues' keys: SCAN each.
    return findQueues(this.client, this.options.prefix, nodes ?? (await mastersOf(this.client)));
  }

  /** Redis' time, ms: the clock heartbeats, letters and history are written with (one TIME). */
  redisNow(): Promise<number> {
    return redisNowMs(this.client);
  }

  /** The queue's counts and minutes (sums over its shards), Redis' memory, and paused. */
  overview(): Promise<Overview> {
    return view.readOverview(this.#shards);
  }

  /**
   * Pauses the queue (docs/internals.md, "Pause"): its workers start no new job within
   * pauseCheckMs, and finish those they run; it holds across their restarts. False when it
   * was paused already (nothing changed).
   */
  pause(): Promise<boolean> {
    return control.setPaused(this.#shards, true);
  }

  /** Resumes a paused queue; false when it was not paused. */
  resume(): Promise<boolean> {
    return control.setPaused(this.#shards, false);
  }

  /** The queue's rate limits (docs/internals.md, "Rate limits"; one HMGET). */
  limits(): Promise<Limits> {
    return control.limitsOf(this.#shards);
  }

  /**
   * Changes the queue's rate limits: a value sets one, null removes it, absent leaves it.
   * Workers follow within pauseCheckMs; the limiter itself reads them at each decision.
   * `tell` hears, a line each, the bad records a key rate change's wake of held jobs settled
   * (a limit key's hash of another type, held members naming no shard).
   */
  setLimits(change: LimitsChange, tell?: (line: string) => void): Promise<Limits> {
    return control.setLimits(this.#shards, change, tell);
  }

  /**
   * Holds limit key `key` for `holdMs` (e.g. a host's Retry-After): no job of the key starts
   * until then, on any worker. Returns the hold's end (Redis' ms).
   */
  holdKey(key: string, holdMs: number): Promise<number> {
    return control.holdLimitKey(this.#shards, key, holdMs);
  }

  /** The limit keys held back now, latest next slot first, with their running counts. */
  heldKeys(count = 50): Promise<HeldKey[]> {
    return control.heldKeys(this.#shards, count);
  }

  /** Whether the queue is paused (one HGET). */
  paused(): Promise<boolean> {
    return control.isPaused(this.#shards);
  }

  /**
   * The queue's rate limits and its held keys, the latest first, as info, /metrics and the
   * dashboard show them (lib/admin/limits.ts).
   */
  limitsView(): Promise<LimitsView> {
    return control.limitsView(this.#shards, this.keys);
  }

  /**
   * Removes every waiting, delayed and parked job, shard by shard in chunks, each chunk one
   * script (lib/engine/lua/empty.lua); running jobs are untouched; one other jobs wait for
   * ends canceled, as Admin.cancel would. Returns how many went.
   */
  empty(): Promise<Emptied> {
    return control.emptyQueue(this.#shards, defaults.failureTtlS);
  }

  /**
   * A page of jobs in one state over every shard, newest first unless `oldest` (jobs.ts). A
   * cursor that is not a `next` of this listing throws an InputError.
   */
  jobs(q: JobsQuery): Promise<JobsPage> {
    return view.jobsPage(this.#shards, q);
  }

  /**
   * Workers by heartbeat, merged by name over the shards (a worker beats in each); with
   * `prune`, those gone are removed from each shard's set afterwards.
   */
  workers({ prune = false } = {}): Promise<WorkerInfo[]> {
    return view.workersOf(this.#shards, prune);
  }

  /** A page of dead letters, newest first over every shard (dead-pages.ts: the cursor). */
  deadLetters(page: { cursor?: string | null; limit?: number } = {}): Promise<DeadPage> {
    return dead.deadLetters(this.#shards, page);
  }

  /** A job's dead letter, from the one shard its id lives in. */
  deadLetter(jobId: string): Promise<DeadLetter | null> {
    return dead.deadLetter(this.#shards, jobId);
  }

  /**
   * Requeues dead jobs by id: each runs again with a fresh attempt count, its history kept.
   * An id given twice is requeued, and answered, once; an id whose keys Redis refuses is
   * `unreadable` (with its `reason`), and the others are still requeued.
   */
  requeue(given: readonly string[]): Promise<dead.RequeueResult[]> {
    return dead.requeueDead(this.#shards, given, this.#o());
  }

  /** Requeues every job dead now, shard by shard; returns how many. */
  requeueAll(): Promise<number> {
    return dead.requeueAllDead(this.#shards, this.#o());
  }

  /** Deletes dead jobs (letter, failed outcome and record); returns the ids deleted. */
  async deleteDead(given: readonly string[]): Promise<string[]> {
    const each = await dead.deleteDead(this.#shards, given);
    return each.filter((d) => d.verdict === "deleted").map((d) => d.id);
  }

  /**
   * As deleteDead, with what became of each id: deleted, missing (no dead letter), or
   * unreadable (Redis refused its keys; `reason`): one such id leaves the others deleted.
   */
  deleteDeadEach(given: readonly string[]): Promise<dead.DeleteResult[]> {
    return dead.deleteDead(this.#shards, given);
  }

  /** Deletes dead letters older than `olderThanMs` (all when not given); returns how many. */
  purgeDead(olderThanMs?: number): Promise<number> {
    return dead.purgeDead(this.#shards, olderThanMs);
  }

  /** Cancels jobs (Queue.cancel, for the dashboard): per id, what became of it. */
  async cancel(ids: readonly string[]): Promise<CancelVerdict[]> {
    const o = { failureTtlS: defaults.failureTtlS, eventsMaxLen: defaults.eventsMaxLen };
    return cancelOnShards(this.client, await this.shards(), ids, o);
  }

  job(id: string): Promise<JobRecord | null> {
    return view.jobOf(this.#shards, id);
  }

  /** The latest failed attempts (from each shard's events), newest first, one per job. */
  recentFailures(limit = 20): Promise<RecentFailure[]> {
    return view.recentFailures(this.#shards, limit);
  }

  /** Prometheus text for this queue: its shards' sums. */
  metrics(): Promise<string> {
    return view.metricsText(this.#shards, this.keys);
  }

  async close(): Promise<void> {
    if (this.#owner) await closeClient(this.client);
  }

  #o() {
    return { maxAttempts: this.options.maxAttempts };
  }
}
