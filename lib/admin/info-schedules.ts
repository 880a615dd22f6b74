// `info`'s schedules of a queue (README, "Recurring schedules"): each with its next run, read
// once per report (every schedule of the prefix, a few calls under the schedules' tag), and
// once per /metrics scrape for that queue's alone.
import { safeText } from "../cli/safe-text.ts";
import { isWrongType } from "../redis/cause.ts";
import { redisNowMs } from "../redis/clock.ts";
import type { Redis } from "../redis/connect.ts";
import { type ScheduleInfo, Schedules } from "../schedule/schedules.ts";
import { whenText } from "../schedule/spec.ts";
import { LATE_MS } from "../schedule/ticks.ts";
import { isoOrNull } from "../time.ts";
import type { Admin } from "./admin.ts";
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
 * The schedules (every one of the prefix, or `queue`'s alone) and Redis' time now: `info`'s
 * reading, which /metrics shares (queue-view.ts metricsText). Null when a schedules key holds
 * another type (`schedule.ts list` says so); any other error is thrown. No cap: a schedule is
 * one an operator added.
 */
export async function readSchedules(
  client: Redis,
  prefix: string,
  queue?: string,
): Promise<{ all: ScheduleInfo[]; nowMs: number } | null> {
  try {
    const [all, nowMs] = await Promise.all([
      new Schedules(client, prefix).list(queue),
      redisNowMs(client),
    ]);
    return { all, nowMs };
  } catch (err) {
    if (isWrongType(err)) return null;
    throw err;
  }
}

/** The prefix's schedules by queue; empty when they cannot be read (info shows the rest). */
export async function schedulesByQueue(admin: Admin): Promise<Map<string, ScheduleReport[]>> {
  const byQueue = new Map<string, ScheduleReport[]>();
  const read = await readSchedules(admin.client, admin.options.prefix);
  if (read === null) return byQueue;
  const { all, nowMs: now } = read;
  for (const s of all) {
    const d = s.def;
    if (d === null) continue;
    const list = byQueue.get(d.queue) ?? [];
    const when = whenText(d, formatDuration);
    const next = isoOrNull(s.next);
    const overdue = s.next !== null && now - s.next > LATE_MS;
    list.push({
      name: s.name,
      when,
      task: d.task,
      missed: d.missed,
      paused: d.paused,
      next,
      overdue,
    });
    byQueue.set(d.queue, list);
  }
  return byQueue;
}

/** The lines of a queue's schedules in `info`, under the queue's numbers. */
export function schedulesLines(
  list: readonly ScheduleReport[] | undefined,
  table: (rows: string[][]) => string[],
): string[] {
  if (!list || list.length === 0) return [];
  const rows = list.map((s) => [
    safeText(s.name),
    safeText(s.when),
    safeText(s.task),
    s.paused
      ? "paused"
      : `${s.next ?? "none (it ends)"}${s.overdue ? " OVERDUE: nothing fires it" : ""}`,
  ]);
  const head = ["SCHEDULE", "WHEN", "TASK", "NEXT RUN"];
  return [
    `  schedules  ${list.length} (schedule.ts list)`,
    ...table([head, ...rows]).map((l) => `    ${l}`),
  ];
}
