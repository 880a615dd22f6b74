// What a queue holds now, read over all its shards for `info`, the dashboard and /metrics:
// the overview (counts, minutes, memory, paused), a page of jobs by state, its workers, one
// job, the latest failures and the Prometheus text. Reads only; each shard's times are read
// by that shard's clock (queue-shards.ts).

import { LEVELS, levelKeys, type QueueKeys } from "../engine/keys.ts";
import { readStatuses } from "../engine/status.ts";
import { InputError } from "../errors.ts";
import { getJobs } from "../queue/read.ts";
import { unreadableJob } from "../queue/shards.ts";
import type { RedisMemory } from "../redis/memory.ts";
import { readMemoryOfNodes } from "../redis/memory-nodes.ts";
import type { JobRecord } from "../types.ts";
import { isPaused, limitsView } from "./controls.ts";
import { recentFailed } from "./failures.ts";
import { readQueueSchedules, schedulesUnreadableLine } from "./info-schedules.ts";
import { decodeJobsCursor, type JobsPage, type JobsQuery, listJobs } from "./jobs.ts";
import { renderMetrics } from "./metrics.ts";
import type { QueueShards } from "./queue-shards.ts";
import { readDurations } from "./run-times.ts";
import { mergeWorkers, sumCounts, sumDurations, sumSeries } from "./shards.ts";
import { type QueueCounts, readCounts } from "./stats.ts";
import { isUnreadable, settle, type Unreadable } from "./unreadable-keys.ts";
import type { MinutePoint } from "./window.ts";
import { isLive, readWorkersCounted, type WorkerInfo } from "./workers.ts";

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
  /**
   * The job now, without its payload and result (null), its error cut to 4 KiB (its last part,
   * `…` first); null when its record has expired.
   */
  job: JobRecord | null;
}

/** The queue's counts and minutes (sums over its shards), Redis' memory, and paused. */
export async function readOverview(s: QueueShards): Promise<Overview> {
  const shards = await s.shards();
  const [parts, memory, paused] = await Promise.all([
    // Each shard's minutes are counted by its scripts on its node's clock: read by that clock.
    Promise.all(
      shards.map(async (keys) => readCounts(s.client, keys, s.queue, await s.nowOf(keys))),
    ),
    readMemoryOfNodes(s.client),
    isPaused(s),
  ]);
  const counts = sumCounts(
    s.queue,
    parts.map((p) => p.counts),
  );
  const series = sumSeries(parts.map((p) => p.series));
  return { counts, shards: shards.length, series, memory, paused };
}

/** A page of jobs in one state over every shard; a foreign cursor throws an InputError. */
export async function jobsPage(s: QueueShards, q: JobsQuery): Promise<JobsPage> {
  // Waiting, running and delayed jobs are in each level's keys, read as shards of their own
  // (high's, normal's, low's); the other states are in the shard's shared keys.
  const waits = q.state === "waiting" || q.state === "running" || q.state === "delayed";
  const shards = (await s.shards()).flatMap((k) =>
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
  return listJobs(s.client, shards, { ...q, limit, oldest }, positions);
}

/** Workers by heartbeat, merged by name over the shards; `prune` removes those gone. */
export async function workersOf(s: QueueShards, prune: boolean): Promise<WorkerInfo[]> {
  return (await workersCountedOf(s, prune))[0];
}

/**
 * The rows and the live workers past them (workers-beyond.ts, counted in each shard's read
 * before its prune): the most of any shard, every worker beating in every shard. None to count
 * when a shard's rows are fewer than a read lists, so most queues pay no call more.
 */
export async function workersCountedOf(
  s: QueueShards,
  prune: boolean,
): Promise<[WorkerInfo[], number]> {
  const reads = await s.each((keys, now) =>
    readWorkersCounted(s.client, keys, now, { prune, count: true }),
  );
  const beyond = Math.max(0, ...reads.map((r) => r.beyond));
  return [mergeWorkers(reads.map((r) => r.rows)), beyond];
}

/** A job's record, from the one shard its id lives in; null when there is none. */
export async function jobOf(s: QueueShards, id: string): Promise<JobRecord | null> {
  const keys = await s.shardOf(id);
  if (!keys) return null;
  return getJobs(s.client, keys, [id], false).then(([job]) => job ?? null);
}

/**
 * Why a job that reads as unknown may not be: its failed value or record is a key of another
 * type (getJobs reads such a key as absent), in one line; null when neither is.
 */
export async function unreadableJobOf(s: QueueShards, id: string): Promise<string | null> {
  return unreadableJob(s.client, await s.shards(), id);
}

/** The latest failed attempts (from each shard's events), newest first, one per job. */
export async function recentFailures(s: QueueShards, limit: number): Promise<RecentFailure[]> {
  const lists = await s.each((keys) => recentFailed(s.client, keys, limit));
  const seen = new Map<string, { type: string; at: number }>();
  for (const f of lists.flat().sort((a, b) => b.at - a.at)) {
    if (!seen.has(f.id) && seen.size < limit) seen.set(f.id, f);
  }
  const jobs = await Promise.all([...seen.keys()].map((id) => briefJobOf(s, id)));
  return [...seen].map(([id, f], i) => ({ id, ...f, job: jobs[i] ?? null }));
}

/**
 * A job's record without its payload and result, its other values cut (readStatuses' brief
 * read): the failures list is read every second, and whole records of 20 jobs of 20 MB took
 * the dashboard from 78 to 1,071 MB of RSS a read.
 */
async function briefJobOf(s: QueueShards, id: string): Promise<JobRecord | null> {
  const keys = await s.shardOf(id);
  if (!keys) return null;
  const [job] = await readStatuses(s.client, keys, [id], undefined, true);
  return job ?? null;
}

/** Prometheus text for the queue: its shards' sums (`own`: the keys under the queue's tag). */
export async function metricsText(s: QueueShards, own: QueueKeys): Promise<string> {
  // Each read on its own: a key of another type leaves out its part's families (said in the
  // text), not the whole page. Limits say so themselves.
  const [overview, workers, durations, limits, read] = await Promise.all([
    settle(s, readOverview(s)),
    settle(s, workersCountedOf(s, false)),
    settle(
      s,
      s.each((keys) => readDurations(s.client, keys)),
    ),
    limitsView(s, own),
    readQueueSchedules(s.client, s.prefix, s.queue),
  ]);
  const unreadable: [string, string][] = [];
  const ok = <T>(part: string, v: T | Unreadable): T | null => {
    if (!isUnreadable(v)) return v;
    unreadable.push([part, v.unreadable]);
    return null;
  };
  // Schedules of another type are no sample (readQueueSchedules' null): said and counted too.
  if (read === null) {
    unreadable.push(["schedules", await schedulesUnreadableLine(s.client, s.prefix, s.queue)]);
  }
  const o = ok("counts, shards and paused", overview);
  const w = ok("workers", workers);
  const d = ok("durations", durations);
  const queueMetrics = {
    queue: s.queue,
    counts: o?.counts ?? null,
    liveWorkers: w ? w[0].filter(isLive).length + w[1] : null,
    durations: d ? sumDurations(d) : null,
    shards: o?.shards,
    paused: o?.paused,
    limits,
    schedules: read ?? undefined,
    unreadable,
  };
  return renderMetrics([queueMetrics], o?.memory ?? null);
}
