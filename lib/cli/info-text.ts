// `info` as text for people: Redis' memory, then one block per queue (its counts, recent
// finishes and failures, limits, shards, schedules) with its workers in a table. The numbers
// are read by lib/admin/info.ts; this only lays them out (whatever a worker or a key wrote is
// shown through safeText).

import { formatDuration } from "../admin/duration.ts";
import type { InfoReport, QueueReport, UnreadableQueue } from "../admin/info.ts";
import { schedulesLines } from "../admin/info-schedules.ts";
import { formatLimits } from "../admin/limits-view.ts";
import { isCount, type LevelCounts } from "../admin/stats.ts";
import { isLive, type WorkerInfo } from "../admin/workers.ts";
import { defaults } from "../config.ts";
import { CourierError } from "../errors.ts";
import { describeCause } from "../redis/cause.ts";
import { formatBytes, type RedisMemory } from "../redis/memory.ts";
import { maskUrl } from "../redis/url.ts";
import { safeText, shownId } from "../safe-text.ts";
import { table } from "./table.ts";

/**
 * A command's line for a read that failed and will be tried again (`info --watch`, `queue
 * events`). Courier's own errors name the URL already; a lost connection's (node-redis' own
 * words, or none: its TimeoutError) gets it, as a command's. One line, escaped.
 */
export function failedReadLine(command: string, redisUrl: string, err: unknown): string {
  const why =
    err instanceof CourierError
      ? err.message
      : `Redis at ${maskUrl(redisUrl)} is unreachable: ${describeCause(err)}`;
  return `${command}: ${safeText(why.split("\n")[0]!)} (trying again)`;
}

/** `info --watch`'s failedReadLine. */
export function watchFailureLine(redisUrl: string, err: unknown): string {
  return failedReadLine("info", redisUrl, err);
}

/** The report as aligned text: one block per queue, its workers in a table. */
export function formatInfo(report: InfoReport, prefix?: string): string {
  const memory = report.redis ? [formatMemory(report.redis)] : [];
  const none = report.queues.length === 0 && prefix !== undefined;
  const queues = none
    ? [`no queue under prefix ${safeText(prefix)}`]
    : report.queues.map(formatQueue);
  return [...memory, ...queues].join("\n\n");
}

/** One line on Redis' memory; a full Redis says what that means for the queue. */
export function formatMemory(m: RedisMemory): string {
  // On a cluster, the fullest master's figures: each master has its own maxmemory.
  const where =
    m.node === undefined ? "" : ` on ${safeText(m.node)} (fullest of ${m.nodes} masters)`;
  const used = `redis memory${where} ${formatBytes(m.usedBytes)} used`;
  if (m.maxBytes === 0) return `${used} (no maxmemory set)`;
  const share = `${used} of ${formatBytes(m.maxBytes)} (${Math.round((100 * m.usedBytes) / m.maxBytes)}%)`;
  if (!m.full) return share;
  if (m.policy !== "noeviction")
    return `${share}   FULL: Redis evicts keys (${safeText(m.policy)}): jobs may be lost`;
  // Workers drain only so far (lib/redis/memory.ts): each starts jobs up to its headroom past
  // maxmemory, then waits for room, its jobs left queued.
  const headroom = `their memoryHeadroomPct (${defaults.memoryHeadroomPct}% by default) past maxmemory`;
  return `${share}   FULL: new jobs are refused until results expire or dead letters are purged; workers start jobs only up to ${headroom}, then wait for room`;
}

/** Letters dropped for newer ones on a full Redis (lib/engine/lua/include/dead.lua): said once any were. */
function trimmedLetters(n: number): string[] {
  if (n === 0) return [];
  // A counter that holds no whole number (corrupt, or written by hand) is unknown: `?`.
  const letters = !isCount(n) ? "? dead letters" : n === 1 ? "1 dead letter" : `${n} dead letters`;
  return [`  trimmed    ${letters} dropped (oldest first) for newer ones while Redis was full`];
}

/**
 * Waiting, in flight and delayed per priority level, said once a high or low level has work
 * (a queue without levels reads as before).
 */
function priorityLine(q: QueueReport): string[] {
  const by = q.byPriority;
  if (!by) return [];
  const busy = (l: LevelCounts) => l.waiting + l.inFlight + l.delayed > 0;
  if (!busy(by.high) && !busy(by.low)) return [];
  const one = (name: string, l: LevelCounts) => `${name} ${l.waiting}/${l.inFlight}/${l.delayed}`;
  const levels = [one("high", by.high), one("normal", by.normal), one("low", by.low)];
  return [`  priority   ${levels.join("   ")} (waiting/in flight/delayed)`];
}

/** Jobs canceled since the queue began (lib/engine/lua/cancel.lua): said once any were. */
function canceledLine(n: number): string[] {
  if (n === 0) return [];
  const jobs = !isCount(n) ? "? jobs" : n === 1 ? "1 job" : `${n} jobs`;
  return [`  canceled   ${jobs} in all (cancel)`];
}

/** One queue's block: its numbers, limits, shards, schedules and workers (or why unreadable). */
export function formatQueue(q: QueueReport | UnreadableQueue): string {
  if ("unreadable" in q)
    return `queue ${safeText(q.queue)}\n  unreadable: ${safeText(q.unreadable)}`;
  const oldest = q.oldestWaitingMs === null ? "-" : formatDuration(q.oldestWaitingMs);
  const lines = [
    `queue ${safeText(q.queue)}${q.paused ? "   PAUSED: workers start no new job (queue.ts resume)" : ""}`,
    `  waiting ${q.waiting}   in flight ${q.inFlight}   delayed ${q.delayed}   dead ${q.dead}   oldest waiting ${oldest}`,
    ...priorityLine(q),
    // Each line says what it counts: jobs that ended, or attempts that failed and will rerun.
    `  finished   ${recent(q.finished, "job")}`,
    `  failed     ${recent(q.failed, "job")} (for good: dead-lettered)`,
    ...trimmedLetters(q.totals.dead_trimmed),
    `  retried    ${recent(q.retried, "attempt")} (failed attempts that will run again)`,
    ...canceledLine(q.totals.canceled),
    `  throughput ${q.throughputPerS} jobs/s over the last minute`,
    ...(q.limits ? formatLimits(q.limits, table) : []),
    ...formatPlacement(q),
    ...schedulesLines(q, table),
    ...unservedLines(q),
  ];
  return [...lines, ...workersLines(q)].join("\n");
}

/** Tasks whose jobs wait for a live worker: the first ones listed, then how many more. */
function unservedLines(q: QueueReport): string[] {
  const lines = q.unservedTasks.map(
    (u) =>
      // A name past any task's (one parked by hand) is cut: 20 of 1 MB each made 20 MB lines.
      `  no live worker has task "${shownId(u.task)}": ${u.jobs} ${u.jobs === 1 ? "job waits" : "jobs wait"} for one`,
  );
  const more = q.unservedTasksTotal - q.unservedTasks.length;
  if (more <= 0) return lines;
  const tasks = more === 1 ? "task" : "tasks";
  const shown = `the first ${q.unservedTasks.length} by name shown`;
  return [...lines, `  and ${more} more ${tasks} no live worker has (${shown})`];
}

/**
 * The queue's workers: how many live (those past the rows listed too), then one row each (gone
 * ones once, as pruned).
 */
function workersLines(q: QueueReport): string[] {
  const { workers } = q;
  if (workers.length === 0) return ["  workers: none"];
  const header = [
    "NAME",
    "HOST",
    "PID",
    "CONC",
    "IN FLIGHT",
    "HEARTBEAT",
    "FINISHED JOBS",
    "FAILED ATTEMPTS",
    "STATE",
  ];
  // Names and hosts are whatever a worker wrote: control characters are shown escaped.
  const rows = workers.map((w) => [
    safeText(w.name),
    safeText(w.host ?? "?"),
    String(w.pid ?? "?"),
    String(w.concurrency ?? "?"),
    String(w.inFlight ?? "?"),
    `${formatDuration(w.lastHeartbeatMs)} ago`,
    String(w.processed),
    String(w.failed),
    stateCell(w),
  ]);
  const beyond = q.workersBeyond ?? 0;
  const listed = beyond > 0 ? ` (the ${workers.length} latest heartbeats listed)` : "";
  return [
    `  workers: ${workers.filter(isLive).length + beyond} live${listed}`,
    ...table([header, ...rows]).map((l) => `    ${l}`),
  ];
}

/** The STATE column: a record of another type names its key (escaped: a name is anyone's). */
function stateCell(w: WorkerInfo): string {
  const state = w.state === "gone" ? "gone (pruned)" : w.state;
  if (w.unreadable === undefined) return state;
  const prefix = w.state === "unreadable" ? "" : `${state}; `;
  return `${prefix}unreadable: ${safeText(w.unreadable)}`;
}

/** A queue of N > 1 shards: how many (its numbers above are their sums), and where each lives. */
function formatPlacement(q: QueueReport): string[] {
  if (q.shards <= 1) return [];
  const rows = q.placement.map((p) => [String(p.shard), String(p.slot), safeText(p.node)]);
  return [
    `  shards     ${q.shards} (the numbers are their sums)`,
    ...table([["SHARD", "SLOT", "NODE"], ...rows]).map((l) => `    ${l}`),
  ];
}

/** `7 jobs in the last minute, 17 in the last hour`. */
function recent(c: { lastMinute: number; lastHour: number }, unit: string): string {
  const plural = c.lastMinute === 1 ? unit : `${unit}s`;
  return `${c.lastMinute} ${plural} in the last minute, ${c.lastHour} in the last hour`;
}
