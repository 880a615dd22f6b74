// A queue of N shards seen as one (docs/internals.md, "Shards"): each shard is a complete
// sub-queue with its own counts, workers' heartbeats and histogram; the operator sees their
// sums. Pure: admin.ts reads each shard, these merge the readings (tested with tables).

import { type Level, shardOf } from "../engine/keys.ts";
import type { Durations } from "./run-times.ts";
import {
  COUNTERS,
  type Counter,
  isCount,
  type LevelCounts,
  type QueueCounts,
  throughputPerS,
} from "./stats.ts";
import { mergeUnserved } from "./unserved.ts";
import type { MinutePoint } from "./window.ts";
import type { WorkerInfo, WorkerState } from "./workers.ts";

/** Each level's numbers summed over the shards. */
function sumLevels(parts: readonly QueueCounts[]): QueueCounts["byPriority"] {
  if (parts.some((c) => c.byPriority === undefined)) return undefined;
  const level = (l: Level) => {
    const sum = (k: keyof LevelCounts) => parts.reduce((n, c) => n + c.byPriority![l][k], 0);
    return { waiting: sum("waiting"), inFlight: sum("inFlight"), delayed: sum("delayed") };
  };
  return { high: level("high"), normal: level("normal"), low: level("low") };
}

/** The shards' counts as the queue's: sums; the oldest waiting job is the oldest of any shard. */
export function sumCounts(queue: string, parts: readonly QueueCounts[]): QueueCounts {
  if (parts.length === 1) return { ...parts[0]!, queue };
  const sum = (get: (c: QueueCounts) => number) => parts.reduce((n, c) => n + get(c), 0);
  const recent = (name: "finished" | "failed" | "retried") => ({
    lastMinute: sum((c) => c[name].lastMinute),
    lastHour: sum((c) => c[name].lastHour),
  });
  const oldest = parts.flatMap((c) => (c.oldestWaitingMs === null ? [] : [c.oldestWaitingMs]));
  const finished = recent("finished");
  const failed = recent("failed");
  return {
    queue,
    waiting: sum((c) => c.waiting),
    inFlight: sum((c) => c.inFlight),
    delayed: sum((c) => c.delayed),
    dead: sum((c) => c.dead),
    oldestWaitingMs: oldest.length === 0 ? null : Math.max(...oldest),
    finished,
    failed,
    retried: recent("retried"),
    throughputPerS: throughputPerS(finished.lastMinute, failed.lastMinute),
    totals: Object.fromEntries(COUNTERS.map((k) => [k, sumOfCounts(parts, k)])) as Record<
      Counter,
      number
    >,
    byPriority: sumLevels(parts),
    ...sumUnserved(parts),
  };
}

/** The shards' unserved tasks and parked jobs as the queue's (mergeUnserved). */
function sumUnserved(
  parts: readonly QueueCounts[],
): Pick<QueueCounts, "unservedTasks" | "unservedTasksTotal" | "parked"> {
  const merged = mergeUnserved(
    parts.map((c) => ({ shown: c.unservedTasks, total: c.unservedTasksTotal, parked: c.parked })),
  );
  return { unservedTasks: merged.shown, unservedTasksTotal: merged.total, parked: merged.parked };
}

/**
 * A counter over the shards, or NaN (unknown, no sample) when a shard's is no count: a corrupt
 * one (`-5`, `abc`) is left out on one shard, and summed it would show a total lower than the
 * last scrape's (a counter gone back reads as a reset).
 */
function sumOfCounts(parts: readonly QueueCounts[], k: Counter): number {
  const values = parts.map((c) => c.totals[k]);
  return values.every(isCount) ? values.reduce((n, v) => n + v, 0) : Number.NaN;
}

/** The shards' per-minute series added minute by minute (each read on its own shard's clock). */
export function sumSeries(parts: readonly MinutePoint[][], minutes = 60): MinutePoint[] {
  if (parts.length === 1) return parts[0]!;
  const byMinute = new Map<number, MinutePoint>();
  for (const p of parts.flat()) {
    const m = byMinute.get(p.at) ?? { at: p.at, finished: 0, failed: 0, retried: 0 };
    m.finished += p.finished;
    m.failed += p.failed;
    m.retried += p.retried;
    byMinute.set(p.at, m);
  }
  // Shards' clocks a minute boundary apart give one minute more than asked: the latest are kept.
  return [...byMinute.values()].sort((a, b) => a.at - b.at).slice(-minutes);
}

/** Busier states first: a worker busy in one shard is busy. */
const STATE_RANK: Record<WorkerState, number> = {
  busy: 0,
  idle: 1,
  late: 2,
  unreadable: 3,
  gone: 4,
};

/**
 * Workers by name across shards (a worker heartbeats in every shard): its in-flight, finished
 * and failed counts are per shard, so summed; its last heartbeat is the latest of any shard
 * (each measured on that shard's clock); its state the liveliest (gone only where gone in all);
 * a record unreadable in one shard is said whatever the others say.
 */
export function mergeWorkers(lists: readonly WorkerInfo[][]): WorkerInfo[] {
  if (lists.length === 1) return lists[0]!;
  const byName = new Map<string, WorkerInfo>();
  for (const w of lists.flat()) {
    const seen = byName.get(w.name);
    if (!seen) {
      byName.set(w.name, { ...w, tasks: [...w.tasks] });
      continue;
    }
    seen.inFlight =
      seen.inFlight === null || w.inFlight === null
        ? (seen.inFlight ?? w.inFlight)
        : seen.inFlight + w.inFlight;
    seen.processed += w.processed;
    seen.failed += w.failed;
    seen.lastHeartbeatMs = Math.min(seen.lastHeartbeatMs, w.lastHeartbeatMs);
    if (STATE_RANK[w.state] < STATE_RANK[seen.state]) seen.state = w.state;
    seen.host ??= w.host;
    seen.pid ??= w.pid;
    seen.concurrency ??= w.concurrency;
    for (const t of w.tasks) if (!seen.tasks.includes(t)) seen.tasks.push(t);
    if (w.unreadable !== undefined) seen.unreadable ??= w.unreadable;
  }
  return [...byName.values()].sort(
    (a, b) => (b.inFlight ?? 0) - (a.inFlight ?? 0) || a.name.localeCompare(b.name),
  );
}

/** The shards' run-time histograms added bucket by bucket. */
export function sumDurations(parts: readonly Durations[]): Durations {
  if (parts.length === 1) return parts[0]!;
  const d: Durations = { buckets: new Map(), sumMs: 0, count: 0 };
  for (const p of parts) {
    d.sumMs += p.sumMs;
    d.count += p.count;
    for (const [bound, n] of p.buckets) d.buckets.set(bound, (d.buckets.get(bound) ?? 0) + n);
  }
  return d;
}

/** Job ids by the shard each lives in (shardOf); an id that names no shard of the queue is left out. */
export function byShard(ids: readonly string[], shards: number): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const id of ids) {
    const s = shardOf(id, shards);
    if (s < 0) continue;
    const group = groups.get(s);
    if (group) group.push(id);
    else groups.set(s, [id]);
  }
  return groups;
}
