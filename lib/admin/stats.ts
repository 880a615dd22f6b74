// A queue's numbers, read without scanning anything: XINFO GROUPS (waiting, in flight, last
// delivered id), XLEN, ZCARD, the counters hash, one HMGET of the per-minute counts, and one
// XRANGE … COUNT 1 for the oldest waiting job. Cost does not grow with the queue's length.

import { GROUP, LEVELS, type Level, levelKeys, type QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";
import { toMap } from "../redis/reply.ts";
import { mergeUnserved, readUnservedTasks, type UnservedTask } from "./unserved.ts";
import {
  bucketsFrom,
  type MinutePoint,
  minuteFields,
  minuteSeries,
  windowCount,
} from "./window.ts";

/** The counters hash: totals since the queue began. */
export const COUNTERS = [
  "enqueued",
  "started",
  "finished",
  "failed",
  "retried",
  "dead",
  "claimed",
  "requeued",
  "dead_trimmed",
  "canceled",
] as const;
export type Counter = (typeof COUNTERS)[number];

/**
 * A count as Courier writes it: a whole number, not negative. A counter field written by hand
 * (or corrupt) reads as NaN, Infinity or a fraction: readers show it as unknown, never as such.
 */
export function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

export interface RecentCounts {
  lastMinute: number;
  lastHour: number;
}

/** One priority level's waiting work (lib/engine/keys.ts levelKeys). */
export interface LevelCounts {
  waiting: number;
  inFlight: number;
  delayed: number;
}

export interface QueueCounts {
  queue: string;
  /** In the stream, not yet read by any worker (every level's). */
  waiting: number;
  /** Read by a worker and not yet acknowledged (the group's pending entries). */
  inFlight: number;
  /** Waiting for a retry back-off or a delayed start. */
  delayed: number;
  /** Dead letters kept. */
  dead: number;
  /** How long the oldest waiting job has been ready to run, ms; null when none waits. */
  oldestWaitingMs: number | null;
  finished: RecentCounts;
  /** Failed for good (dead-lettered). */
  failed: RecentCounts;
  /** Failed attempts that will run again. */
  retried: RecentCounts;
  /** Jobs ended (finished or failed for good) per second, over the last minute. */
  throughputPerS: number;
  totals: Record<Counter, number>;
  /**
   * Tasks whose jobs wait because no live worker has them, with how many wait: the first
   * UNSERVED_TASKS_SHOWN by name (lib/admin/unserved.ts).
   */
  unservedTasks: UnservedTask[];
  /** Such tasks in all (`unservedTasks` may list fewer). */
  unservedTasksTotal: number;
  /**
   * Jobs parked (set aside in `parked:<task>`, every level's) until a live worker has their
   * task: in no stream or delayed set, so in none of the numbers above.
   */
  parked: number;
  /** Waiting, in flight and delayed per priority level (their sums are the numbers above). */
  byPriority?: Record<Level, LevelCounts>;
}

interface GroupInfo {
  pending: number;
  lastDeliveredId: string;
  lag: number | null;
}

/** Everything `info` and the dashboard show about one queue. */
export async function readCounts(
  client: Redis,
  keys: QueueKeys,
  queue: string,
  now: number,
): Promise<{ counts: QueueCounts; series: MinutePoint[] }> {
  const fields = minuteFields(now, 60);
  const [group, len, delayed, dead, totals, minutes, levels, high, low] = await Promise.all([
    readGroup(client, keys),
    client.sendCommand<number>(["XLEN", keys.stream]),
    client.sendCommand<number>(["ZCARD", keys.delayed]),
    client.sendCommand<number>(["XLEN", keys.dead]),
    client.sendCommand<(string | null)[]>(["HMGET", keys.stats, ...COUNTERS]),
    client.sendCommand<(string | null)[]>(["HMGET", keys.minutes, ...fields]),
    // Each level parks in its own sets, counted in its own tasks hash (levelKeys).
    Promise.all(LEVELS.map((l) => readUnservedTasks(client, levelKeys(keys, l), now))),
    readLevel(client, levelKeys(keys, "high")),
    readLevel(client, levelKeys(keys, "low")),
  ]);
  const inFlight = group?.pending ?? 0;
  const waiting = waitingOf(group, len);
  const unserved = mergeUnserved(levels);
  const normalOldest =
    waiting > 0 ? await oldestWaiting(client, keys, group?.lastDeliveredId) : null;
  // The oldest of every level's: a high or low job waits as long as a normal one does.
  const added = [normalOldest, high.oldest, low.oldest].filter((t): t is number => t !== null);
  const oldest = added.length === 0 ? null : Math.min(...added);
  const buckets = bucketsFrom(fields, minutes);
  const recent = (name: "finished" | "failed" | "retried") => ({
    lastMinute: windowCount(buckets, name, now, 1),
    lastHour: windowCount(buckets, name, now, 60),
  });
  const normal = { waiting, inFlight, delayed: Number(delayed) };
  const level = ({ oldest: _, ...l }: LevelRead): LevelCounts => l;
  const counts: QueueCounts = {
    queue,
    waiting: waiting + high.waiting + low.waiting,
    inFlight: inFlight + high.inFlight + low.inFlight,
    delayed: normal.delayed + high.delayed + low.delayed,
    dead: Number(dead),
    oldestWaitingMs: oldest === null ? null : Math.max(0, now - oldest),
    finished: recent("finished"),
    failed: recent("failed"),
    retried: recent("retried"),
    throughputPerS: 0,
    totals: Object.fromEntries(COUNTERS.map((c, i) => [c, Number(totals[i] ?? 0)])) as Record<
      Counter,
      number
    >,
    unservedTasks: unserved.shown,
    unservedTasksTotal: unserved.total,
    parked: unserved.parked,
    byPriority: { high: level(high), normal, low: level(low) },
  };
  counts.throughputPerS = throughputPerS(counts.finished.lastMinute, counts.failed.lastMinute);
  return { counts, series: minuteSeries(buckets, now, 60) };
}

/** A level's counts, and when its oldest waiting job was added (ms; null when none waits). */
type LevelRead = LevelCounts & { oldest: number | null };

/**
 * A high or low level's waiting, in-flight and delayed jobs (all 0 for a queue without levels),
 * and its oldest waiting job's time (the queue's oldest is the oldest of every level's).
 */
async function readLevel(client: Redis, keys: QueueKeys): Promise<LevelRead> {
  const [group, len, delayed] = await Promise.all([
    readGroup(client, keys),
    client.sendCommand<number>(["XLEN", keys.stream]),
    client.sendCommand<number>(["ZCARD", keys.delayed]),
  ]);
  const inFlight = group?.pending ?? 0;
  const waiting = waitingOf(group, len);
  const oldest = waiting > 0 ? await oldestWaiting(client, keys, group?.lastDeliveredId) : null;
  return { waiting, inFlight, delayed: Number(delayed), oldest };
}

/**
 * Entries not yet delivered. `lag` is Redis 7's count (entries added minus entries read): null
 * when Redis cannot tell, absent before 7, and too high for good once entries are deleted
 * unread (`queue empty`: they were never read, so it stayed at the number emptied). The stream
 * holds the waiting entries and the in-flight ones (acknowledged entries are deleted, or
 * trimmed soon after), so XLEN minus pending bounds it, and stands in for it when it is absent.
 */
function waitingOf(group: GroupInfo | null, len: number): number {
  const held = Math.max(0, Number(len) - (group?.pending ?? 0));
  return Math.min(group?.lag ?? held, held);
}

/** The group's pending count, last delivered id and lag; null when there is no stream yet. */
export async function readGroup(client: Redis, keys: QueueKeys): Promise<GroupInfo | null> {
  let reply: unknown[][];
  try {
    reply = await client.sendCommand<unknown[][]>(["XINFO", "GROUPS", keys.stream]);
  } catch (err) {
    if (/no such key/i.test(String((err as Error)?.message))) return null;
    throw err;
  }
  for (const flat of reply) {
    const info = toMap<unknown>(flat);
    if (info.get("name") !== GROUP) continue;
    const lag = info.get("lag");
    return {
      pending: Number(info.get("pending") ?? 0),
      lastDeliveredId: String(info.get("last-delivered-id") ?? "0-0"),
      lag: lag === null || lag === undefined ? null : Number(lag),
    };
  }
  return null;
}

/** When the first entry after the last delivered one was added (its id's ms part). */
async function oldestWaiting(
  client: Redis,
  keys: QueueKeys,
  lastDelivered = "0-0",
): Promise<number | null> {
  const reply = await client.sendCommand<[string, string[]][]>([
    "XRANGE",
    keys.stream,
    `(${lastDelivered}`,
    "+",
    "COUNT",
    "1",
  ]);
  const id = reply[0]?.[0];
  return id ? Number(id.split("-")[0]) : null;
}

/** Jobs ended per second over the last minute (finished and failed), to two decimals. */
export function throughputPerS(finishedLastMinute: number, failedLastMinute: number): number {
  return round2((finishedLastMinute + failedLastMinute) / 60);
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
