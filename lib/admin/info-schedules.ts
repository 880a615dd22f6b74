// `info`'s schedules of a queue (README, "Recurring schedules"): how many, how many overdue, and
// the first SCHEDULES_SHOWN with their next runs, read per queue (a few calls under the
// schedules' tag, none reading another queue's schedules) for info, each /metrics scrape and
// the dashboard's snapshot.

import { scheduleKeys } from "../engine/keys.ts";
import { cannotBeRead } from "../engine/unreadable-text.ts";
import { isNoPerm, isWrongType } from "../redis/cause.ts";
import { redisNowMs } from "../redis/clock.ts";
import type { Redis } from "../redis/connect.ts";
import { safeText } from "../safe-text.ts";
import { countNames, ensureIndex, queuePages, type ScheduleInfo } from "../schedule/read.ts";
import { whenText } from "../schedule/spec.ts";
import { LATE_MS } from "../schedule/ticks.ts";
import { isoOrNull } from "../time.ts";
import { formatDuration } from "./duration.ts";

/** A schedule as `info --json` shows it under its queue. */
export interface ScheduleReport {
  name: string;
  /** `every 5m`, or `cron <expression>` and its zone in brackets. */
  when: string;
  task: string;
  missed: string;
  paused: boolean;
  /** The next run (ISO 8601, Redis' clock); null when paused or ended. */
  next: string | null;
  /**
   * The next run is over LATE_MS past: nothing fires the schedule (no worker of its queue
   * without --no-schedules, no `schedule.ts run`).
   */
  overdue: boolean;
}

/**
 * The queues that have a schedule due to fire (the prefix's `queues` set, what a scheduler of
 * every queue reads), whether or not any key of theirs exists yet: a schedule whose queue has
 * had no job (a mistyped queue, no worker yet) is still shown by `info`, OVERDUE once late.
 * A set of another type gives none (the queues found otherwise are still shown), and so does a
 * user whose rules predate it (no +smembers: the README's admin rules have it now).
 */
export async function queuesWithSchedules(client: Redis, prefix: string): Promise<string[]> {
  const key = scheduleKeys(prefix).queues;
  const got = await client.sendCommand<string[]>(["SMEMBERS", key]).catch((err: unknown) => {
    if (isWrongType(err) || isNoPerm(err)) return [];
    throw err;
  });
  return got.map(String);
}

/**
 * Whether `queue` has a schedule due to fire (is in the `queues` set), for `info --queue Q` of
 * a queue with no key yet: its one member asked (SMISMEMBER, which the admin rules have for
 * cancel), never the set, a name per queue with a schedule (300,000 took 40 MB more). None, as
 * queuesWithSchedules says, for a set of another type or a user without the command.
 */
export async function hasSchedules(client: Redis, prefix: string, queue: string): Promise<boolean> {
  const key = scheduleKeys(prefix).queues;
  const ask = client.sendCommand<number[]>(["SMISMEMBER", key, queue]);
  const [member] = await ask.catch((err: unknown) => {
    if (isWrongType(err) || isNoPerm(err)) return [0];
    throw err;
  });
  return Number(member) === 1;
}

/** Schedules of a queue that info, /metrics and the dashboard list: a queue may have thousands. */
export const SCHEDULES_SHOWN = 20;

/** A queue's schedules as info, /metrics and the dashboard show them. */
export interface QueueSchedules {
  /** Its schedules in all, paused ones too. */
  total: number;
  /** Of them, those whose next run is over LATE_MS past (nothing fires them). */
  overdue: number;
  /** The first SCHEDULES_SHOWN (or `most`) by name, their payloads not read (null). */
  shown: ScheduleInfo[];
  /** Redis' time of the read (ms). */
  nowMs: number;
}

/**
 * `queue`'s schedules: their count, how many are overdue, and the first `most` by name, read
 * from the queue's own keys (its `names` index and `next`: a few calls, none reading another
 * queue's schedules). Null when a schedules key holds another type (`schedule.ts list` says
 * so); any other error is thrown.
 */
export async function readQueueSchedules(
  client: Redis,
  prefix: string,
  queue: string,
  most = SCHEDULES_SHOWN,
): Promise<QueueSchedules | null> {
  const k = scheduleKeys(prefix);
  try {
    // The index made whole once for the count and the first page: Schedules' count() and
    // pages() would each check it (an EXISTS more on every info, scrape and dashboard poll).
    const counted = ensureIndex(client, k).then(() => countNames(client, k, queue));
    const [total, nowMs] = await Promise.all([counted, redisNowMs(client)]);
    if (total === 0) return { total, overdue: 0, shown: [], nowMs };
    const [overdue, first] = await Promise.all([
      client.sendCommand<number>(["ZCOUNT", k.next(queue), "-inf", `(${nowMs - LATE_MS}`]),
      // Without their payloads (up to 1 MiB each), which none of these show.
      queuePages(client, k, queue, most, undefined, true).next(),
    ]);
    return { total, overdue, shown: first.value ?? [], nowMs };
  } catch (err) {
    if (isWrongType(err)) return null;
    throw err;
  }
}

/**
 * Why `queue`'s schedules could not be read (readQueueSchedules' null), for /metrics' comment
 * line: its first schedules key of another type, in cannotBeRead's words (a TYPE each, asked
 * only after a refusal).
 */
export async function schedulesUnreadableLine(
  client: Redis,
  prefix: string,
  queue: string,
): Promise<string> {
  const k = scheduleKeys(prefix);
  const wanted: [string, string][] = [
    [k.names(queue), "zset"],
    [k.next(queue), "zset"],
    [k.defs, "hash"],
    [k.where, "hash"],
  ];
  const types = await Promise.all(wanted.map(([key]) => client.sendCommand<string>(["TYPE", key])));
  const at = wanted.findIndex(([, want], i) => types[i] !== "none" && types[i] !== want);
  if (at === -1)
    return `queue ${queue}: a schedules key held another type than Courier writes; read again`;
  const [key, want] = wanted[at]!;
  return `queue ${queue} ${cannotBeRead(key, types[at]!, want)}`;
}

/** The report of `info` for the schedules read (undefined: none, or not readable). */
export function scheduleReports(read: QueueSchedules | null): ScheduleReport[] | undefined {
  if (read === null || read.total === 0) return undefined;
  return read.shown.flatMap((s) => {
    const d = s.def;
    if (d === null) return [];
    const overdue = s.next !== null && read.nowMs - s.next > LATE_MS;
    const when = whenText(d, formatDuration);
    const { task, missed, paused } = d;
    return [{ name: s.name, when, task, missed, paused, next: isoOrNull(s.next), overdue }];
  });
}

/** The lines of a queue's schedules in `info`, under the queue's numbers. */
export function schedulesLines(
  q: { schedules?: ScheduleReport[]; schedulesTotal?: number; schedulesOverdue?: number },
  table: (rows: string[][]) => string[],
): string[] {
  const list = q.schedules;
  const total = q.schedulesTotal ?? list?.length ?? 0;
  if (!list || total === 0) return [];
  const rows = list.map((s) => [
    safeText(s.name),
    safeText(s.when),
    safeText(s.task),
    s.paused
      ? "paused"
      : `${s.next ?? "none (it ends)"}${s.overdue ? " OVERDUE: nothing fires it" : ""}`,
  ]);
  const head = ["SCHEDULE", "WHEN", "TASK", "NEXT RUN"];
  const shown = total > list.length ? `the first ${list.length} shown: ` : "";
  const overdue = q.schedulesOverdue ? `, ${q.schedulesOverdue} OVERDUE` : "";
  return [
    `  schedules  ${total}${overdue} (${shown}schedule.ts list)`,
    ...table([head, ...rows]).map((l) => `    ${l}`),
  ];
}
