// What an operator reads of a queue (Admin's reads, for `info`, the dashboard and /metrics):
// numbers, workers, jobs, dead letters, limits, recent failures and Prometheus metrics, every
// read bounded (no scan grows with the number of jobs), except the fallback search for a dead
// letter whose job record has expired. What an operator changes is Admin's own (admin.ts).

import type { QueueOptions } from "../config.ts";
import { checkFormat } from "../engine/format.ts";
import type { HeldKey } from "../engine/held-keys.ts";
import { type QueueKeys, queueKeys } from "../engine/keys.ts";
import type { Limits } from "../engine/limits.ts";
import { InputError } from "../errors.ts";
import { keysOf, kindOf } from "../option-keys.ts";
import { checkBoolean, checkCount, checkIds, checkObject } from "../queue/call-args.ts";
import { redisNowMs } from "../redis/clock.ts";
import { mastersOf } from "../redis/cluster.ts";
import type { Redis } from "../redis/connect.ts";
import type { CallGate } from "../redis/gate.ts";
import type { JobRecord } from "../types.ts";
import * as control from "./controls.ts";
import * as dead from "./dead-actions.ts";
import { findQueues, type Placement, placement, queueExists, serverOf } from "./discover.ts";
import { isJobState, JOB_STATES, type JobsPage, type JobsQuery } from "./jobs.ts";
import type { DeadLetter, DeadPage } from "./letters.ts";
import type { LimitsView } from "./limits-view.ts";
import { QueueShards } from "./queue-shards.ts";
import type { Overview, RecentFailure } from "./queue-view.ts";
import * as view from "./queue-view.ts";
import { settle, type Unreadable } from "./unreadable-keys.ts";
import type { WorkerInfo } from "./workers.ts";

const JOBS_QUERY_KEYS = keysOf<JobsQuery>()(["state", "limit", "cursor", "oldest"]);

/** Admin.workers' options, and Admin.deadLetters' page: their keys checked by the compiler. */
interface WorkersQuery {
  prune?: boolean;
}
interface DeadLettersQuery {
  cursor?: string | null;
  limit?: number;
}
const WORKERS_KEYS = keysOf<WorkersQuery>()(["prune"]);
const DEAD_LETTERS_KEYS = keysOf<DeadLettersQuery>()(["cursor", "limit"]);

/** The most rows one read returns (the CLI's and the dashboard's bound too). */
const PAGE_MAX = 500;

/** An Admin's options: a queue's, and the attempts a requeued job gets when its letter says none. */
export type AdminOptions = QueueOptions & { maxAttempts: number };

export class QueueReader {
  readonly client: Redis;
  readonly options: AdminOptions;
  /**
   * The keys under the queue's own tag `{queue}`: a one-shard queue's all; with N > 1 only its
   * layout (`meta`) is there. Every shard's keys: shards().
   */
  readonly keys: QueueKeys;
  /** The queue's shards: their keys, clocks, and which one an id lives in. */
  protected readonly queueShards: QueueShards;
  /** Closed by close() (the views of forQueue share their owner's): calls refused after it. */
  protected readonly gate: CallGate;

  protected constructor(client: Redis, options: AdminOptions, gate: CallGate) {
    this.client = client;
    this.options = options;
    this.gate = gate;
    this.keys = queueKeys(options.prefix, options.queue);
    this.queueShards = new QueueShards(client, options.prefix, options.queue);
  }

  /**
   * Runs one call (not retried): Redis unreachable is a ConnectError naming the URL (password
   * masked), as a Queue's (lib/redis/calls.ts); after close() an InputError ("this Admin is
   * closed"), a call made before it getting its reply (lib/redis/gate.ts).
   */
  protected call<T>(fn: () => Promise<T>): Promise<T> {
    return this.gate.call(fn, this.options.redisUrl);
  }

  /**
   * Refuses (RedisRefusedError, one line) a queue whose data is in another format than this
   * Courier's: read, it would be misread. One HGET; a queue without a format yet passes.
   */
  async checkFormat(): Promise<void> {
    await this.call(async () => {
      const shards = await this.queueShards.shards();
      await Promise.all(shards.map((keys) => checkFormat(this.client, keys)));
    });
  }

  /**
   * Every shard's keys, shard s at index s, from the queue's layout (read once it is recorded;
   * a queue with none yet is read as one shard, and looked at again next time).
   */
  shards(): Promise<QueueKeys[]> {
    return this.call(() => this.queueShards.shards());
  }

  /** Each shard's slot and node (info's placement). */
  placement(): Promise<Placement[]> {
    const server = serverOf(this.options.redisUrl);
    return this.call(async () => placement(this.client, await this.queueShards.shards(), server));
  }

  /**
   * Whether this queue exists: its stream, delayed set, dead letters or counters do (the stream
   * and the counters outlive its jobs, so an empty queue exists). A key of another type is a queue all the
   * same, reported as unreadable rather than unknown.
   */
  exists(): Promise<boolean> {
    return this.call(async () => queueExists(this.client, await this.queueShards.shards()));
  }

  /**
   * Queue names under this prefix, found with SCAN: for `info` and the dashboard. A queue is
   * found by the keys `exists()` tests (stream, delayed set, dead letters, stats), so every
   * queue found is one `exists()` says is there, and the other way round; a queue of N > 1
   * shards by its layout and one of its shards' keys, never as its shards' tags (discover.ts).
   * `nodes`: the servers to scan (every master of a cluster), this one by default.
   */
  findQueues(nodes?: readonly Redis[]): Promise<string[]> {
    // On a cluster every master holds some queues' keys: SCAN each.
    const { prefix } = this.options;
    return this.call(async () =>
      findQueues(this.client, prefix, nodes ?? (await mastersOf(this.client))),
    );
  }

  /** Redis' time, ms: the clock heartbeats, letters and history are written with (one TIME). */
  redisNow(): Promise<number> {
    return this.call(() => redisNowMs(this.client));
  }

  /** The queue's counts and minutes (sums over its shards), Redis' memory, and paused. */
  overview(): Promise<Overview> {
    return this.call(() => view.readOverview(this.queueShards));
  }

  /** The queue's rate limits (docs/internals.md, "Rate limits"; one HMGET). */
  limits(): Promise<Limits> {
    return this.call(() => control.limitsOf(this.queueShards));
  }

  /** The limit keys held back now, latest next slot first, with their running counts. */
  async heldKeys(count = 50): Promise<HeldKey[]> {
    // -1 would be Redis' "no limit": every held key in one reply.
    checkCount(count, "heldKeys' count", 1, PAGE_MAX);
    return this.call(() => control.heldKeys(this.queueShards, count));
  }

  /** Whether the queue is paused (one HGET). */
  paused(): Promise<boolean> {
    return this.call(() => control.isPaused(this.queueShards));
  }

  /**
   * The queue's rate limits and its held keys, the latest first, as info, /metrics and the
   * dashboard show them (lib/admin/limits.ts).
   */
  limitsView(): Promise<LimitsView> {
    return this.call(() => control.limitsView(this.queueShards, this.keys));
  }

  /**
   * A page of jobs in one state over every shard, newest first unless `oldest` (jobs.ts). A
   * cursor that is not a `next` of this listing throws an InputError.
   */
  async jobs(q: JobsQuery): Promise<JobsPage> {
    checkObject(q, "jobs", JOBS_QUERY_KEYS);
    if (typeof q.state !== "string" || !isJobState(q.state)) {
      throw new InputError(
        `jobs' state must be one of ${JOB_STATES.join(", ")}, got ${kindOf(q.state)}`,
      );
    }
    checkCount(q.limit, "jobs' limit", 1, PAGE_MAX);
    return this.call(() => view.jobsPage(this.queueShards, q));
  }

  /**
   * Workers by heartbeat, merged by name over the shards (a worker beats in each); with
   * `prune`, those gone are removed from each shard's set afterwards.
   */
  async workers(options: WorkersQuery = {}): Promise<WorkerInfo[]> {
    checkObject(options, "workers", WORKERS_KEYS);
    checkBoolean(options.prune, "workers' prune"); // "no" would read as true: prune
    return this.call(() => view.workersOf(this.queueShards, options.prune ?? false));
  }

  /**
   * Live workers past the rows `workers()` lists (its WORKERS_READ latest heartbeats): counted
   * in a few calls (workers-beyond.ts); 0 when the rows hold them all.
   */
  async workersBeyond(): Promise<number> {
    return (await this.workersCounted())[1];
  }

  /**
   * `workers(options)` and `workersBeyond()` of one read: the live workers past the rows counted
   * before the rows' prune (counted after it, some of them were missed).
   */
  async workersCounted(options: WorkersQuery = {}): Promise<[WorkerInfo[], number]> {
    checkObject(options, "workersCounted", WORKERS_KEYS);
    checkBoolean(options.prune, "workersCounted's prune");
    return this.call(() => view.workersCountedOf(this.queueShards, options.prune ?? false));
  }

  /** A page of dead letters, newest first over every shard (dead-pages.ts: the cursor). */
  async deadLetters(page: DeadLettersQuery = {}): Promise<DeadPage> {
    checkObject(page, "deadLetters", DEAD_LETTERS_KEYS);
    if (page.limit !== undefined) checkCount(page.limit, "deadLetters' limit", 1, PAGE_MAX);
    const { cursor } = page as { cursor?: unknown };
    if (cursor !== undefined && cursor !== null && typeof cursor !== "string") {
      throw new InputError(
        `deadLetters' cursor must be a string (a page's next), got ${kindOf(cursor)}`,
      );
    }
    return this.call(() => dead.deadLetters(this.queueShards, page));
  }

  /** A job's dead letter, from the one shard its id lives in. */
  async deadLetter(jobId: string): Promise<DeadLetter | null> {
    checkIds([jobId], "deadLetter");
    return this.call(() => dead.deadLetter(this.queueShards, jobId));
  }

  async job(id: string): Promise<JobRecord | null> {
    checkIds([id], "job");
    return this.call(() => view.jobOf(this.queueShards, id));
  }

  /**
   * Why `job(id)` read null when it is not for want of a job: its failed value or record is a
   * key of another type (one line, as `result` says it); null when neither is.
   */
  async unreadableJob(id: string): Promise<string | null> {
    checkIds([id], "unreadableJob");
    return this.call(() => view.unreadableJobOf(this.queueShards, id));
  }

  /** The latest failed attempts (from each shard's events), newest first, one per job. */
  async recentFailures(limit = 20): Promise<RecentFailure[]> {
    checkCount(limit, "recentFailures' limit", 1, PAGE_MAX);
    return this.call(() => view.recentFailures(this.queueShards, limit));
  }

  /**
   * `read`'s value, or `{ unreadable }` naming the key when Redis refused one of this queue's
   * keys as another type: one part of a page shown as such, the rest served.
   */
  settle<T>(read: Promise<T>): Promise<T | Unreadable> {
    return settle(this.queueShards, read);
  }

  /** Prometheus text for this queue: its shards' sums. */
  metrics(): Promise<string> {
    return this.call(() => view.metricsText(this.queueShards, this.keys));
  }
}
