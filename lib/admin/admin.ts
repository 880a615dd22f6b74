// The operator's view of a queue, for `info`, `dead` and the dashboard: numbers, workers, dead
// letters (requeue, delete, purge), recent failures and Prometheus metrics. Nothing here is on
// a job's hot path; every read is bounded (no scan grows with the number of jobs), except the
// fallback search for a dead letter whose job record has expired.

import { type QueueOptions, resolveOptions } from "../config.ts";
import { checkFormat } from "../engine/format.ts";
import { type QueueKeys, queueKeys } from "../engine/keys.ts";
import { field, getJobs } from "../queue/read.ts";
import { redisNowMs } from "../redis/clock.ts";
import { closeClient, connect, type Redis } from "../redis/connect.ts";
import { type RedisMemory, readMemory } from "../redis/memory.ts";
import type { JobRecord } from "../types.ts";
import {
  type DeadLetter,
  type DeadPage,
  discardLetters,
  findDead,
  listDead,
  purgeLetters,
  type RequeueVerdict,
  requeueAllLetters,
  requeueLetters,
} from "./letters.ts";
import { renderMetrics } from "./metrics.ts";
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
  counts: QueueCounts;
  /** Finished, failed and retried per minute over the last hour, oldest first. */
  series: MinutePoint[];
  /** Redis' used and max memory, and whether it is full; null when INFO is not allowed. */
  memory: RedisMemory | null;
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
  readonly keys: QueueKeys;
  #owner: boolean;

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
    await checkFormat(this.client, this.keys);
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
    const { stream, delayed, dead, stats } = this.keys;
    return Number(await this.client.sendCommand(["EXISTS", stream, delayed, dead, stats])) > 0;
  }

  /**
   * Queue names under this prefix, found with SCAN: for `info` and the dashboard. A queue is
   * found by the keys `exists()` tests (stream, delayed set, dead letters, stats), so every
   * queue found is one `exists()` says is there, and the other way round.
   */
  async findQueues(): Promise<string[]> {
    const found = new Set<string>();
    // `[sd]*` narrows the scan's replies to the four keys' initials (and stats:minutes...).
    const pattern = `${this.options.prefix}:{*}:[sd]*`;
    let cursor = "0";
    do {
      const [next, keys] = await this.client.sendCommand<[string, string[]]>([
        "SCAN",
        cursor,
        "MATCH",
        pattern,
        "COUNT",
        "1000",
      ]);
      for (const key of keys) {
        const m = /^.*?:\{(.+)\}:(?:stream|delayed|dead|stats)$/.exec(key);
        if (m) found.add(m[1]!);
      }
      cursor = next;
    } while (cursor !== "0");
    return [...found].sort();
  }

  /** Redis' time, ms: the clock heartbeats, letters and history are written with (one TIME). */
  redisNow(): Promise<number> {
    return redisNowMs(this.client);
  }

  async overview(): Promise<Overview> {
    const now = await redisNowMs(this.client); // the clock the scripts count minutes by
    const [{ counts, series }, memory] = await Promise.all([
      readCounts(this.client, this.keys, this.options.queue, now),
      readMemory(this.client),
    ]);
    return { counts, series, memory };
  }

  /** Workers by heartbeat; with `prune`, those gone are removed from the set afterwards. */
  async workers({ prune = false } = {}): Promise<WorkerInfo[]> {
    return readWorkers(this.client, this.keys, await redisNowMs(this.client), prune);
  }

  deadLetters({ cursor = null as string | null, limit = 20 } = {}): Promise<DeadPage> {
    return listDead(this.client, this.keys, cursor, Math.max(1, Math.min(limit, 500)));
  }

  deadLetter(jobId: string): Promise<DeadLetter | null> {
    return findDead(this.client, this.keys, jobId);
  }

  /**
   * Requeues dead jobs by id: each runs again with a fresh attempt count, its history kept. An
   * id given twice is requeued, and answered, once: its second pass would find it requeued
   * (`active`) and hide that the first one worked.
   */
  async requeue(given: readonly string[]): Promise<{ id: string; verdict: RequeueVerdict }[]> {
    const jobIds = [...new Set(given)];
    const found = await this.#letters(jobIds);
    const pairs = found.flatMap((l, i) => (l ? [[l.entryId, jobIds[i]!] as [string, string]] : []));
    const done = new Map(
      (await requeueLetters(this.client, this.keys, pairs, this.#o())).map((d) => [
        d.id,
        d.verdict,
      ]),
    );
    return jobIds.map((id) => ({ id, verdict: done.get(id) ?? "missing" }));
  }

  /** Requeues every job dead now; returns how many. */
  requeueAll(): Promise<number> {
    return requeueAllLetters(this.client, this.keys, this.#o());
  }

  /** Deletes dead jobs (letter, failed outcome and record); returns the ids deleted. */
  async deleteDead(given: readonly string[]): Promise<string[]> {
    const ids = [...new Set(given)]; // an id given twice is deleted, and answered, once
    const found = await this.#letters(ids);
    const pairs = found.flatMap((l, i) => (l ? [[l.entryId, ids[i]!] as [string, string]] : []));
    return discardLetters(this.client, this.keys, pairs);
  }

  /** Deletes dead letters older than `olderThanMs` (all when not given); returns how many. */
  async purgeDead(olderThanMs?: number): Promise<number> {
    // Letters' ids are Redis' times: their age is measured on Redis' clock.
    return purgeLetters(this.client, this.keys, await redisNowMs(this.client), olderThanMs);
  }

  job(id: string): Promise<JobRecord | null> {
    return getJobs(this.client, this.keys, [id], false).then(([job]) => job ?? null);
  }

  /** The latest failed attempts (from the events stream), newest first, one per job. */
  async recentFailures(limit = 20): Promise<RecentFailure[]> {
    const events = await this.client.sendCommand<[string, string[]][]>([
      "XREVRANGE",
      this.keys.events,
      "+",
      "-",
      "COUNT",
      "1000",
    ]);
    const seen = new Map<string, { type: string; at: number }>();
    for (const [entryId, fields] of events) {
      const type = field(fields, "type");
      if (type !== "failed" && type !== "retried") continue;
      // One job (a failed run), or every job one bury call dead-lettered (`ids`).
      for (const id of field(fields, "ids")?.split(",") ?? [field(fields, "id") ?? ""]) {
        if (!id || seen.has(id) || seen.size >= limit) continue;
        seen.set(id, { type, at: Number(entryId.split("-")[0]) });
      }
      if (seen.size >= limit) break;
    }
    const ids = [...seen.keys()];
    const jobs = await getJobs(this.client, this.keys, ids, false);
    return ids.map((id, i) => ({ id, ...seen.get(id)!, job: jobs[i] ?? null }));
  }

  /** Prometheus text for this queue. */
  async metrics(): Promise<string> {
    const [{ counts, memory }, workers, durations] = await Promise.all([
      this.overview(),
      this.workers(),
      readDurations(this.client, this.keys),
    ]);
    const liveWorkers = workers.filter((w) => w.state !== "gone").length;
    return renderMetrics([{ counts, liveWorkers, durations }], memory);
  }

  async close(): Promise<void> {
    if (this.#owner) await closeClient(this.client);
  }

  #letters(jobIds: readonly string[]): Promise<(DeadLetter | null)[]> {
    return Promise.all(jobIds.map((id) => findDead(this.client, this.keys, id)));
  }

  #o() {
    return { maxAttempts: this.options.maxAttempts };
  }
}
