// `info`: every queue's numbers and workers in one report, as text for people or one JSON
// object for scripts. `bin/info.ts` parses arguments and prints; the reading is here, the
// text is lib/cli/info-text.ts.

import { adminDefaults, QUEUE_NAME } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { describeError, RedisRefusedError } from "../errors.ts";
import { inOrderWindow } from "../queue/window.ts";
import type { RedisMemory } from "../redis/memory.ts";
import { readMemoryOfNodes } from "../redis/memory-nodes.ts";
import type { Admin } from "./admin.ts";
import type { Placement } from "./discover.ts";
import {
  queuesWithSchedules,
  readQueueSchedules,
  type ScheduleReport,
  scheduleReports,
} from "./info-schedules.ts";
import type { LimitsView } from "./limits-view.ts";
import type { QueueCounts } from "./stats.ts";
import type { WorkerInfo } from "./workers.ts";

export interface QueueReport extends QueueCounts {
  /** The latest WORKERS_READ heartbeats' workers (workers.ts). */
  workers: WorkerInfo[];
  /** Live workers past those listed (absent: none). */
  workersBeyond?: number;
  /** Shards the queue is split into (its counts are their sums). */
  shards: number;
  /** Each shard's slot and node. */
  placement: Placement[];
  /** Paused (`queue.ts pause`): its workers start no new job. Absent: not read (false). */
  paused?: boolean;
  /** Its recurring schedules, the first SCHEDULES_SHOWN by name, with their next runs (absent: none). */
  schedules?: ScheduleReport[];
  /** Its schedules in all (`schedules` may list fewer); absent with `schedules`. */
  schedulesTotal?: number;
  /** Of them, those whose next run is over LATE_MS past: nothing fires them. */
  schedulesOverdue?: number;
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
  const names = queueLister(admin, queues);
  return async () => {
    const time = new Date(admin.options.now()).toISOString(); // as the report begins
    const known = await names();
    let redis: RedisMemory | null = null;
    const reports: (QueueReport | UnreadableQueue)[] = [];
    const seen = (memory: RedisMemory | null) => {
      redis = memory;
    };
    for await (const report of queueReports(admin, known, seen)) reports.push(report);
    // With no queue to read, Redis' memory is still worth showing.
    if (known.length === 0) redis = await readMemoryOfNodes(admin.client);
    return { time, redis, queues: reports };
  };
}

/** The report's head and its queues' reports as they are read (`queues` can be read once). */
export interface InfoStream extends Omit<InfoReport, "queues"> {
  queues: AsyncIterable<QueueReport | UnreadableQueue>;
}

/**
 * The report as a stream: Redis' memory first, then each queue's report in name order as soon
 * as it (and those before it) are read, none kept once handed on: the output of 100,000 queues
 * is written as it goes, never held whole. `names`: a queueLister's.
 */
export async function infoStream(
  admin: Admin,
  names: () => Promise<string[]>,
): Promise<InfoStream> {
  // Taken as the report begins: reports of `--watch` are then `--interval` apart, whatever the
  // finding of queues (a SCAN, redone every so often) adds to one of them.
  const time = new Date(admin.options.now()).toISOString();
  const known = await names();
  const redis = await readMemoryOfNodes(admin.client);
  return { time, redis, queues: queueReports(admin, known, () => {}) };
}

/**
 * The names to read, each time asked: those given, or the queues found under the prefix (found
 * again at most every REDISCOVER_MS).
 */
export function queueLister(admin: Admin, queues: readonly string[]): () => Promise<string[]> {
  let known: string[] = [...queues];
  let foundAt = Number.NEGATIVE_INFINITY;
  return async () => {
    if (queues.length === 0 && Date.now() - foundAt >= REDISCOVER_MS) {
      const [found, scheduled] = await Promise.all([
        admin.findQueues(),
        queuesWithSchedules(admin.client, admin.options.prefix),
      ]);
      known = [...new Set([...found, ...scheduled])].sort();
      foundAt = Date.now();
    }
    return known;
  };
}

/**
 * Each queue's report in the order given, at most adminDefaults.queuesReadAtOnce queues read at
 * once: all at once, 20,000 queues put 1.5 million commands in the client's queue (2.4 GB), and
 * those last in it passed the command timeout, failing the whole report.
 */
async function* queueReports(
  admin: Admin,
  names: readonly string[],
  sawMemory: (memory: RedisMemory | null) => void,
): AsyncGenerator<QueueReport | UnreadableQueue> {
  const read = (name: string) => queueReport(admin, name, sawMemory);
  for await (const o of inOrderWindow(names, read, adminDefaults.queuesReadAtOnce)) {
    if (!o.ok) throw o.error;
    yield o.value;
  }
}

/**
 * One queue's report, or why it cannot be read; `sawMemory` gets Redis' memory as its overview
 * read it (the report shows one figure for the server).
 */
async function queueReport(
  admin: Admin,
  name: string,
  sawMemory: (memory: RedisMemory | null) => void,
): Promise<QueueReport | UnreadableQueue> {
  // A queue key under the prefix whose name no queue may have (another program's key): shown
  // as unreadable, as a key of another type is, rather than failing the whole report.
  if (!QUEUE_NAME.test(name)) return { queue: name, unreadable: BAD_NAME };
  const view = admin.forQueue(name);
  try {
    await view.checkFormat();
    const [{ counts, memory, shards, paused }, [workers, beyond], placement, limits, read] =
      await Promise.all([
        view.overview(),
        // The live workers past the rows counted in the same read, before its prune.
        view.workersCounted({ prune: true }),
        view.placement(),
        view.limitsView(),
        // The queue's own schedules only: never every schedule of the prefix.
        readQueueSchedules(admin.client, admin.options.prefix, name),
      ]);
    const own = scheduleReports(read);
    sawMemory(memory);
    return {
      ...counts,
      paused,
      workers,
      ...(beyond > 0 ? { workersBeyond: beyond } : {}),
      shards,
      placement,
      limits,
      ...(own && read
        ? { schedules: own, schedulesTotal: read.total, schedulesOverdue: read.overdue }
        : {}),
    };
  } catch (err) {
    // One queue's broken key (WRONGTYPE) or other data format does not hide the others:
    // it is reported as unreadable, and `info` exits 6 after printing everything.
    if (err instanceof RedisRefusedError) return { queue: name, unreadable: err.message };
    if (!/\bWRONGTYPE\b/.test(describeError(err))) throw err;
    return { queue: name, unreadable: wrongTypeLine(view.keys) };
  }
}

const BAD_NAME =
  "its keys' name is no queue name (1-100 letters, digits or _.:-): another program's key under this prefix? give Courier its own --prefix, or rename or delete that key";

function wrongTypeLine(keys: QueueKeys): string {
  return `a key of this queue holds another type than Courier writes (another program uses keys under ${keys.stream.replace(/:stream$/, "")}:…): give Courier its own --prefix, or delete that key`;
}
