// `info`: every queue's numbers and workers in one report, as text for people or one JSON
// object for scripts. `bin/info.ts` parses arguments and prints; the work is here.

import { safeText } from "../cli/safe-text.ts";
import { QUEUE_NAME } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { describeError, RedisRefusedError } from "../errors.ts";
import { formatBytes, type RedisMemory } from "../redis/memory.ts";
import { readMemoryOfNodes } from "../redis/memory-nodes.ts";
import type { Admin } from "./admin.ts";
import type { Placement } from "./discover.ts";
import { formatDuration } from "./duration.ts";
import { type ScheduleReport, schedulesByQueue, schedulesLines } from "./info-schedules.ts";
import { formatLimits, type LimitsView } from "./limits-view.ts";
import { isCount, type LevelCounts, type QueueCounts } from "./stats.ts";
import type { WorkerInfo } from "./workers.ts";

export interface QueueReport extends QueueCounts {
  workers: WorkerInfo[];
  /** Shards the queue is split into (its counts are their sums). */
  shards: number;
  /** Each shard's slot and node. */
  placement: Placement[];
  /** Paused (`queue.ts pause`): its workers start no new job. Absent: not read (false). */
  paused?: boolean;
  /** Its recurring schedules and their next runs (absent: none). */
  schedules?: ScheduleReport[];
  /** Its rate limits and held keys (info's LIMITS lines). Absent: not read. */
  limits?: LimitsView;
}

/** A queue whose keys could not be read (one of them holds another type than Courier writes). */
export interface UnreadableQueue {
  queue: string;
  unreadable: string;
}

export interface InfoReport {
  /** When the numbers were read (ISO 8601). */
  time: string;
  /** Redis' used and max memory, and whether it is full; null when INFO is not allowed. */
  redis: RedisMemory | null;
  queues: (QueueReport | UnreadableQueue)[];
}

// Finding queues is a SCAN of the whole keyspace: in --watch it is redone every so often, not
// on every refresh.
const REDISCOVER_MS = 10_000;

/**
 * A reader of the given queues, or of every queue under the prefix when `queues` is empty
 * (those that exist: none on a Redis that has had no job). Gone workers are shown once and pruned.
 */
export function infoReader(admin: Admin, queues: readonly string[]): () => Promise<InfoReport> {
  let known: string[] = [...queues];
  let foundAt = Number.NEGATIVE_INFINITY;
  return async () => {
    if (queues.length === 0 && Date.now() - foundAt >= REDISCOVER_MS) {
      known = await admin.findQueues();
      foundAt = Date.now();
    }
    let redis: RedisMemory | null = null;
    const schedules = known.length > 0 ? await schedulesByQueue(admin) : new Map();
    const reports = await Promise.all(
      known.map(async (name) => {
        // A queue key under the prefix whose name no queue may have (another program's key): shown
        // as unreadable, as a key of another type is, rather than failing the whole report.
        if (!QUEUE_NAME.test(name)) return { queue: name, unreadable: BAD_NAME };
        const view = admin.forQueue(name);
        try {
          await view.checkFormat();
          const [{ counts, memory, shards, paused }, workers, placement, limits] =
            await Promise.all([
              view.overview(),
              view.workers({ prune: true }),
              view.placement(),
              view.limitsView(),
            ]);
          redis = memory;
          const own = schedules.get(name);
          return {
            ...counts,
            paused,
            workers,
            shards,
            placement,
            limits,
            ...(own ? { schedules: own } : {}),
          };
        } catch (err) {
          // One queue's broken key (WRONGTYPE) or other data format does not hide the others:
          // it is reported as unreadable, and `info` exits 6 after printing everything.
          if (err instanceof RedisRefusedError) return { queue: name, unreadable: err.message };
          if (!/\bWRONGTYPE\b/.test(describeError(err))) throw err;
          return { queue: name, unreadable: wrongTypeLine(view.keys) };
        }
      }),
    );
    // With no queue to read, Redis' memory is still worth showing.
    if (known.length === 0) redis = await readMemoryOfNodes(admin.client);
    return { time: new Date(admin.options.now()).toISOString(), redis, queues: reports };
  };
}

const BAD_NAME =
  "its keys' name is no queue name (1-100 letters, digits or _.:-): another program's key under this prefix? give Courier its own --prefix, or rename or delete that key";

function wrongTypeLine(keys: QueueKeys): string {
  return `a key of this queue holds another type than Courier writes (another program uses keys under ${keys.stream.replace(/:stream$/, "")}:…): give Courier its own --prefix, or delete that key`;
}

/** Whether every queue of the report could be read. */
export function allReadable(report: InfoReport): boolean {
  return report.queues.every((q) => !("unreadable" in q));
}

/** Calls `tick` now and then every `everyMs` until `signal` aborts; a failed tick is reported. */
export async function repeat(
  tick: () => Promise<void>,
  everyMs: number,
  signal: AbortSignal,
  onError: (err: unknown) => void,
): Promise<void> {
  while (!signal.aborted) {
    const started = Date.now();
    await tick().catch(onError);
    const wait = Math.max(0, everyMs - (Date.now() - started));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wait);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      signal.addEventListener("abort", wake, { once: true });
    });
  }
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
function formatMemory(m: RedisMemory): string {
  // On a cluster, the fullest master's figures: each master has its own maxmemory.
  const where =
    m.node === undefined ? "" : ` on ${safeText(m.node)} (fullest of ${m.nodes} masters)`;
  const used = `redis memory${where} ${formatBytes(m.usedBytes)} used`;
  if (m.maxBytes === 0) return `${used} (no maxmemory set)`;
  const share = `${used} of ${formatBytes(m.maxBytes)} (${Math.round((100 * m.usedBytes) / m.maxBytes)}%)`;
  if (!m.full) return share;
  if (m.policy !== "noeviction")
    return `${share}   FULL: Redis evicts keys (${safeText(m.policy)}): jobs may be lost`;
  return `${share}   FULL: new jobs are refused until results expire or dead letters are purged; workers keep draining`;
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

function formatQueue(q: QueueReport | UnreadableQueue): string {
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
    ...schedulesLines(q.schedules, table),
    ...q.unservedTasks.map(
      (u) =>
        `  no live worker has task "${safeText(u.task)}": ${u.jobs} ${u.jobs === 1 ? "job waits" : "jobs wait"} for one`,
    ),
  ];
  if (q.workers.length === 0) {
    lines.push("  workers: none");
    return lines.join("\n");
  }
  lines.push(`  workers: ${q.workers.filter((w) => w.state !== "gone").length} live`);
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
  const rows = q.workers.map((w) => [
    safeText(w.name),
    safeText(w.host ?? "?"),
    String(w.pid ?? "?"),
    String(w.concurrency ?? "?"),
    String(w.inFlight ?? "?"),
    `${formatDuration(w.lastHeartbeatMs)} ago`,
    String(w.processed),
    String(w.failed),
    w.state === "gone" ? "gone (pruned)" : w.state,
  ]);
  lines.push(...table([header, ...rows]).map((l) => `    ${l}`));
  return lines.join("\n");
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

/** Columns padded to their widest cell; the last column is not padded. */
export function table(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "),
  );
}
