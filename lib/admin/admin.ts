// The operator's view of a queue, for `info`, `dead` and the dashboard: numbers, workers, dead
// letters (requeue, delete, purge), recent failures and Prometheus metrics. Nothing here is on
// a job's hot path; every read is bounded (no scan grows with the number of jobs), except the
// fallback search for a dead letter whose job record has expired.

import { defaults, type QueueOptions, resolveOptions } from "../config.ts";
import { type Emptied, emptyShard } from "../engine/empty.ts";
import { checkFormat } from "../engine/format.ts";
import { holdKey } from "../engine/hold-key.ts";
import {
  LEVELS,
  levelKeys,
  limitKeys,
  type QueueKeys,
  queueKeys,
  shardKeys,
  shardOf,
} from "../engine/keys.ts";
import { openLayout, readShards } from "../engine/layout.ts";
import {
  type HeldKey,
  type Limits,
  type LimitsChange,
  readHeldKeys,
  readLimits,
  writeLimits,
} from "../engine/limits.ts";
import { readPaused, writePaused } from "../engine/pause.ts";
import { wakeRateHeld } from "../engine/rate-held.ts";
import { InputError } from "../errors.ts";
import { type CancelVerdict, cancelOnShards } from "../queue/cancel.ts";
import { getJobs } from "../queue/read.ts";
import { redisNowMs } from "../redis/clock.ts";
import { mastersOf, onNodeOf } from "../redis/cluster.ts";
import { closeClient, connect, type Redis } from "../redis/connect.ts";
import type { RedisMemory } from "../redis/memory.ts";
import { readMemoryOfNodes } from "../redis/memory-nodes.ts";
import type { JobRecord } from "../types.ts";
import { listDeadShards } from "./dead-pages.ts";
import { findQueues, type Placement, placement, serverOf } from "./discover.ts";
import { recentFailed } from "./failures.ts";
import { decodeJobsCursor, type JobsPage, type JobsQuery, listJobs } from "./jobs.ts";
import {
  type DeadLetter,
  type DeadPage,
  discardLetters,
  findDead,
  purgeLetters,
  type RequeueVerdict,
  requeueAllLetters,
  requeueLetters,
} from "./letters.ts";
import { readLimitsView } from "./limits.ts";
import type { LimitsView } from "./limits-view.ts";
import { renderMetrics } from "./metrics.ts";
import { byShard, mergeWorkers, sumCounts, sumDurations, sumSeries } from "./shards.ts";
import { type QueueCounts, readCounts, readDurations } from "./stats.ts";
import type { MinutePoint } from "./window.ts";
import { readWorkers, type WorkerInfo } from "./workers.ts";

export interface AdminConfig extends Partial<QueueOptions> {
  /** Keep trying to reach Redis this long before giving up (0 = one try). */
  retryConnectS?: number;
  /** Attempts a requeued job gets when its dead letter does not say (older letters). */
  maxAttempts?: number;
}

export interface Overview {
  /** The queue's counts: the sums over its shards. */
  counts: QueueCounts;
  /** How many shards the queue has (1 for a queue not written yet). */
  shards: number;
  /** Finished, failed and retried per minute over the last hour, oldest first. */
  series: MinutePoint[];
  /** Redis' used and max memory, and whether it is full; null when INFO is not allowed. */
  memory: RedisMemory | null;
  /** The queue is paused (`queue.ts pause`): workers start no job until it is resumed. */
  paused: boolean;
}

export interface RecentFailure {
  id: string;
  /** `failed` (for good) or `retried` (will run again). */
  type: string;
  /** When the attempt failed, ms since the epoch. */
  at: number;
  /** The job now; null when its record has expired. */
  job: JobRecord | null;
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
  /** The shards' keys once the queue's layout is recorded (fixed from then on). */
  #shards: QueueKeys[] | null = null;

  private constructor(client: Redis, options: Admin["options"], owner: boolean) {
    this.client = client;
    this.options = options;
    this.keys = queueKeys(options.prefix, options.queue);
    this.#owner = owner;
  }

  /** Connects (throws ConnectError naming the URL, password masked, and the cause). */
  static async connect(config: AdminConfig = {}): Promise<Admin> {
    const options = resolveOptions(config);
    // Like a Queue: reconnects in the background, and fails calls at once while Redis is down
    // (the dashboard answers 503 rather than hang).
    const client = await connect(options.redisUrl, {
      retryConnectS: config.retryConnectS,
      name: "courier-admin",
      persistent: true,
      failFast: true,
      reconnectMaxMs: options.reconnectMaxMs,
    });
    const admin = new Admin(client, options, true);
    try {
      // A `shards` option that differs from the queue's is refused now, as a Queue's is.
      if (options.shards !== undefined) await admin.#layout(false);
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
  async shards(): Promise<QueueKeys[]> {
    if (this.#shards) return this.#shards;
    const { prefix, queue } = this.options;
    const n = await readShards(this.client, prefix, queue);
    const keys = shardKeys(prefix, queue, n ?? 1);
    if (n !== null) this.#shards = keys;
    return keys;
  }

  /**
   * Creates the queue with `shards` shards (default: the `shards` option, else 1): records its
   * layout, as its first worker or producer would, so later ones spread over those shards.
   * A queue that exists keeps its count: another `shards` throws a ConfigError (nothing is
   * written). Returns the queue's shard count.
   */
  async createQueue({ shards = this.options.shards }: { shards?: number } = {}): Promise<number> {
    resolveOptions({ ...this.options, shards }); // a count out of range: ConfigError, as connect's
    return this.#layout(true, shards);
  }

  /** The queue's layout (written when `write` and the queue has none); its shard count. */
  async #layout(write: boolean, wanted = this.options.shards): Promise<number> {
    const { prefix, queue } = this.options;
    const layout = await openLayout(this.client, prefix, queue, wanted, write);
    if (write) this.#shards = layout.keys;
    return layout.shards;
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
    // A queue whose only jobs are delayed, or dead, has no stream yet (or any more): any of
    // its keys that outlive a job says the queue is there.
    // One EXISTS per shard: a shard's keys share a slot, two shards' keys need not.
    const found = await Promise.all(
      (await this.shards()).map(({ stream, delayed, dead, stats }) =>
        this.client.sendCommand(["EXISTS", stream, delayed, dead, stats]),
      ),
    );
    return found.some((n) => Number(n) > 0);
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

  async overview(): Promise<Overview> {
    const shards = await this.shards();
    const [parts, memory, paused] = await Promise.all([
      // Each shard's minutes are counted by its scripts on its node's clock: read by that clock.
      Promise.all(
        shards.map(async (keys) =>
          readCounts(this.client, keys, this.options.queue, await this.#nowOf(keys)),
        ),
      ),
      readMemoryOfNodes(this.client),
      this.paused(),
    ]);
    const counts = sumCounts(
      this.options.queue,
      parts.map((p) => p.counts),
    );
    const series = sumSeries(parts.map((p) => p.series));
    return { counts, shards: shards.length, series, memory, paused };
  }

  /**
   * Pauses the queue (docs/internals.md, "Pause"): its workers start no new job within
   * pauseCheckMs, and finish those they run; it holds across their restarts. False when it
   * was paused already (nothing changed).
   */
  pause(): Promise<boolean> {
    return writePaused(this.client, this.options.prefix, this.options.queue, true);
  }

  /** Resumes a paused queue; false when it was not paused. */
  resume(): Promise<boolean> {
    return writePaused(this.client, this.options.prefix, this.options.queue, false);
  }

  /** The queue's rate limits (docs/internals.md, "Rate limits"; one HMGET). */
  limits(): Promise<Limits> {
    return readLimits(this.client, this.options.prefix, this.options.queue);
  }

  /**
   * Changes the queue's rate limits: a value sets one, null removes it, absent leaves it.
   * Workers follow within pauseCheckMs; the limiter itself reads them at each decision.
   */
  async setLimits(change: LimitsChange): Promise<Limits> {
    const { prefix, queue } = this.options;
    const limits = await writeLimits(this.client, prefix, queue, change);
    // Jobs held back by the old key rate would come back on its schedule: woken now.
    if (change.keyRate !== undefined) {
      await wakeRateHeld(this.client, limitKeys(prefix, queue), await this.shards());
    }
    return limits;
  }

  /**
   * Holds limit key `key` for `holdMs` (e.g. a host's Retry-After): no job of the key starts
   * until then, on any worker. Returns the hold's end (Redis' ms).
   */
  holdKey(key: string, holdMs: number): Promise<number> {
    const { prefix, queue } = this.options;
    return holdKey(this.client, limitKeys(prefix, queue), key, holdMs);
  }

  /** The limit keys held back now, latest next slot first, with their running counts. */
  async heldKeys(count = 50): Promise<HeldKey[]> {
    const { prefix, queue } = this.options;
    const lk = limitKeys(prefix, queue);
    const now = await redisNowMs(onNodeOf(this.client, lk.layout));
    return readHeldKeys(this.client, lk, now, count);
  }

  /** Whether the queue is paused (one HGET). */
  paused(): Promise<boolean> {
    return readPaused(this.client, this.options.prefix, this.options.queue);
  }

  /**
   * The queue's rate limits and its held keys, the latest first, as info, /metrics and the
   * dashboard show them (lib/admin/limits.ts).
   */
  async limitsView(): Promise<LimitsView> {
    const { prefix, queue } = this.options;
    // The limiter's keys are under the queue's own tag: read by that node's clock.
    return readLimitsView(this.client, prefix, queue, await this.#nowOf(this.keys));
  }

  /**
   * Removes every waiting, delayed and parked job, shard by shard in chunks, each chunk one
   * script (lib/engine/lua/empty.lua); running jobs are untouched. Returns how many went.
   */
  async empty(): Promise<Emptied> {
    // Every level's waiting work (a queue without levels has no such keys: nothing to remove).
    const levels = (keys: QueueKeys) => LEVELS.map((l) => levelKeys(keys, l));
    const each = (keys: QueueKeys) =>
      Promise.all(levels(keys).map((k) => emptyShard(this.client, k)));
    const parts = (await this.#each(each)).flat();
    const sum = (k: keyof Emptied) => parts.reduce((n, p) => n + p[k], 0);
    return { waiting: sum("waiting"), delayed: sum("delayed"), parked: sum("parked") };
  }

  /**
   * A page of jobs in one state over every shard, newest first unless `oldest` (jobs.ts). A
   * cursor that is not a `next` of this listing throws an InputError.
   */
  async jobs(q: JobsQuery): Promise<JobsPage> {
    // Waiting, running and delayed jobs are in each level's keys, read as shards of their own
    // (high's, normal's, low's); the other states are in the shard's shared keys.
    const waits = q.state === "waiting" || q.state === "running" || q.state === "delayed";
    const shards = (await this.shards()).flatMap((k) =>
      waits ? LEVELS.map((l) => levelKeys(k, l)) : [k],
    );
    const oldest = q.oldest === true;
    const cursor = q.cursor ?? null;
    const positions =
      cursor === null ? null : decodeJobsCursor(cursor, { state: q.state, oldest }, shards.length);
    if (cursor !== null && positions === null) {
      throw new InputError(
        "--cursor must be the `next` a previous page of this listing printed (same state and order)",
      );
    }
    const limit = Math.max(1, Math.min(q.limit, 500));
    return listJobs(this.client, shards, { ...q, limit, oldest }, positions);
  }

  /**
   * Workers by heartbeat, merged by name over the shards (a worker beats in each); with
   * `prune`, those gone are removed from each shard's set afterwards.
   */
  async workers({ prune = false } = {}): Promise<WorkerInfo[]> {
    const lists = await this.#each((keys, now) => readWorkers(this.client, keys, now, prune));
    return mergeWorkers(lists);
  }

  /** A page of dead letters, newest first over every shard (dead-pages.ts: the cursor). */
  async deadLetters({ cursor = null as string | null, limit = 20 } = {}): Promise<DeadPage> {
    const shards = await this.shards();
    return listDeadShards(this.client, shards, cursor, Math.max(1, Math.min(limit, 500)));
  }

  /** A job's dead letter, from the one shard its id lives in. */
  async deadLetter(jobId: string): Promise<DeadLetter | null> {
    const keys = await this.#shardOf(jobId);
    return keys ? findDead(this.client, keys, jobId) : null;
  }

  /**
   * Requeues dead jobs by id, each in the one shard its id lives in: each runs again with a
   * fresh attempt count, its history kept. An id given twice is requeued, and answered, once:
   * its second pass would find it requeued (`active`) and hide that the first one worked.
   */
  async requeue(given: readonly string[]): Promise<{ id: string; verdict: RequeueVerdict }[]> {
    const jobIds = [...new Set(given)];
    const done = new Map<string, RequeueVerdict>();
    await this.#byShard(jobIds, async (keys, ids) => {
      const pairs = await this.#letters(keys, ids);
      for (const d of await requeueLetters(this.client, keys, pairs, this.#o()))
        done.set(d.id, d.verdict);
    });
    return jobIds.map((id) => ({ id, verdict: done.get(id) ?? "missing" }));
  }

  /** Requeues every job dead now, shard by shard; returns how many. */
  async requeueAll(): Promise<number> {
    const counts = await this.#each((keys) => requeueAllLetters(this.client, keys, this.#o()));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Deletes dead jobs (letter, failed outcome and record); returns the ids deleted. */
  async deleteDead(given: readonly string[]): Promise<string[]> {
    const ids = [...new Set(given)]; // an id given twice is deleted, and answered, once
    const deleted = new Set<string>();
    await this.#byShard(ids, async (keys, some) => {
      const pairs = await this.#letters(keys, some);
      for (const id of await discardLetters(this.client, keys, pairs)) deleted.add(id);
    });
    return ids.filter((id) => deleted.has(id));
  }

  /** Deletes dead letters older than `olderThanMs` (all when not given); returns how many. */
  async purgeDead(olderThanMs?: number): Promise<number> {
    // Letters' ids are Redis' times: their age is measured on their shard's clock.
    const counts = await this.#each((keys, now) =>
      purgeLetters(this.client, keys, now, olderThanMs),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Cancels jobs (Queue.cancel, for the dashboard): per id, what became of it. */
  async cancel(ids: readonly string[]): Promise<CancelVerdict[]> {
    const o = { failureTtlS: defaults.failureTtlS, eventsMaxLen: defaults.eventsMaxLen };
    return cancelOnShards(this.client, await this.shards(), ids, o);
  }

  async job(id: string): Promise<JobRecord | null> {
    const keys = await this.#shardOf(id);
    if (!keys) return null;
    return getJobs(this.client, keys, [id], false).then(([job]) => job ?? null);
  }

  /** The latest failed attempts (from each shard's events), newest first, one per job. */
  async recentFailures(limit = 20): Promise<RecentFailure[]> {
    const lists = await this.#each((keys) => recentFailed(this.client, keys, limit));
    const seen = new Map<string, { type: string; at: number }>();
    for (const f of lists.flat().sort((a, b) => b.at - a.at)) {
      if (!seen.has(f.id) && seen.size < limit) seen.set(f.id, f);
    }
    const jobs = await Promise.all([...seen.keys()].map((id) => this.job(id)));
    return [...seen].map(([id, f], i) => ({ id, ...f, job: jobs[i] ?? null }));
  }

  /** Prometheus text for this queue: its shards' sums. */
  async metrics(): Promise<string> {
    const [{ counts, memory, shards, paused }, workers, durations, limits] = await Promise.all([
      this.overview(),
      this.workers(),
      this.#each((keys) => readDurations(this.client, keys)),
      this.limitsView(),
    ]);
    const liveWorkers = workers.filter((w) => w.state !== "gone").length;
    return renderMetrics(
      [{ counts, liveWorkers, durations: sumDurations(durations), shards, paused, limits }],
      memory,
    );
  }

  async close(): Promise<void> {
    if (this.#owner) await closeClient(this.client);
  }

  /** `fn` on every shard, with Redis' time on that shard's node. */
  async #each<T>(fn: (keys: QueueKeys, now: number) => Promise<T>): Promise<T[]> {
    const shards = await this.shards();
    return Promise.all(shards.map(async (keys) => fn(keys, await this.#nowOf(keys))));
  }

  /** `fn` on each shard holding some of `ids` (shardOf), with those ids. */
  async #byShard(ids: readonly string[], fn: (keys: QueueKeys, ids: string[]) => Promise<void>) {
    const shards = await this.shards();
    await Promise.all([...byShard(ids, shards.length)].map(([s, some]) => fn(shards[s]!, some)));
  }

  /** The keys of the shard `id` lives in; null for an id no shard of the queue can hold. */
  async #shardOf(id: string): Promise<QueueKeys | null> {
    const shards = await this.shards();
    return shards[shardOf(id, shards.length)] ?? null;
  }

  /**
   * Redis' time on the node holding a shard (the clock its scripts wrote the shard's times by):
   * TIME is keyless, so on a cluster it is sent to the master of the shard's slot.
   */
  #nowOf(keys: QueueKeys): Promise<number> {
    return redisNowMs(onNodeOf(this.client, keys.meta));
  }

  /** [letter entry id, job id] of the ids that have a letter in this shard. */
  async #letters(keys: QueueKeys, ids: readonly string[]): Promise<[string, string][]> {
    const found = await Promise.all(ids.map((id) => findDead(this.client, keys, id)));
    return found.flatMap((l, i) => (l ? [[l.entryId, ids[i]!] as [string, string]] : []));
  }

  #o() {
    return { maxAttempts: this.options.maxAttempts };
  }
}
