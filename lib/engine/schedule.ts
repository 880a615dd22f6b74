// Recurring schedules in Redis (docs/internals.md, "Recurring schedules"): the typed owner of
// schedule-due.lua, schedule-advance.lua, schedule-save.lua and schedule-brief.lua (their
// KEYS/ARGV and replies).
import type { Redis } from "../redis/connect.ts";
import { scoreOf } from "../redis/reply.ts";
import type { ScheduleKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

export interface DueSchedule {
  name: string;
  /** Its queue (the `next` zset it is in). */
  queue: string;
  /** The stored score (ms), at or before `now`: the tick, or a backed-off schedule's retry time. */
  score: number;
  /** The tick due: the score, or a backed-off schedule's real tick. */
  tick: number;
  /** How many times in a row it failed to fire (0: not backed off). */
  failures: number;
  /** The stored JSON, or null when the name has no definition. */
  def: string | null;
}

export interface DueRead {
  /** Redis' time of the read (ms). */
  now: number;
  due: DueSchedule[];
  /** The earliest future score of the schedules asked for, or null (none). */
  earliest: number | null;
  /** Queues whose `next` key holds another type: skipped (their schedules cannot fire). */
  broken: string[];
  /** Where the next page of `queues` starts: "0" when the scan is over (or queues were given). */
  cursor: string;
}

/** Queues a due read of every queue walks per call (SSCAN COUNT of `queues`). */
export const DUE_QUEUES_PAGE = 500;

/** A page of every queue (a scheduler of every queue carries the cursor between reads). */
export interface DuePage {
  cursor: string;
  size: number;
}

/**
 * The schedules due now on Redis' clock (at most `most`, the earliest first), of `queues` when
 * given (a worker's), else of one page of every queue from `page.cursor`; and the earliest
 * score after now of those: how long a scheduler may sleep.
 */
export async function readDue(
  client: Redis,
  k: ScheduleKeys,
  most: number,
  queues: readonly string[] = [],
  page: DuePage = { cursor: "0", size: DUE_QUEUES_PAGE },
): Promise<DueRead> {
  const argv = [most, k.nextPrefix, page.cursor, page.size, ...queues];
  const [now, flat, earliest, broken, cursor] = await runScript<
    [number, (string | null)[], string, string[], string]
  >(client, scripts.scheduleDue, [k.defs, k.queues, k.failing], argv);
  const due: DueSchedule[] = [];
  for (let i = 0; i + 4 < flat.length; i += 5) {
    const score = scoreOf(String(flat[i + 1]));
    const failing = /^(\d+) (\d+)$/.exec(flat[i + 4] ?? "");
    due.push({
      name: String(flat[i]),
      queue: String(flat[i + 2]),
      score,
      tick: failing ? Number(failing[1]) : score,
      failures: failing ? Number(failing[2]) : 0,
      def: flat[i + 3] ?? null,
    });
  }
  const at = earliest === "" ? null : scoreOf(earliest);
  const gone = (broken ?? []).map(String);
  return { now: Number(now), due, earliest: at, broken: gone, cursor: String(cursor ?? "0") };
}

/**
 * Stores `next` (null: the schedule ends) as the schedule's next tick if its stored score is
 * still the one read; false when it had changed (another scheduler advanced it, or it was
 * paused, removed or replaced): nothing written.
 */
export function advanceTick(
  client: Redis,
  k: ScheduleKeys,
  d: DueSchedule,
  next: number | null,
): Promise<boolean> {
  return advance(client, k, d, [next === null ? "" : next, "", ""]);
}

/**
 * Backs off a schedule that failed to fire: its score becomes `retryAt`, its real tick kept
 * in `failing`, by the same compare and set; false when the score had changed.
 */
export function backOffTick(
  client: Redis,
  k: ScheduleKeys,
  d: DueSchedule,
  retryAt: number,
): Promise<boolean> {
  return advance(client, k, d, ["", retryAt, d.tick]);
}

async function advance(
  client: Redis,
  k: ScheduleKeys,
  d: DueSchedule,
  args: (string | number)[],
): Promise<boolean> {
  const keys = [k.next(d.queue), k.queues, k.failing];
  const argv = [d.name, d.score, ...args, d.queue];
  return (await runScript<number>(client, scripts.scheduleAdvance, keys, argv)) === 1;
}

export type SaveOp =
  | { op: "add"; json: string; next: number | null; queue: string }
  | { op: "swap"; json: string; next: number | null; queue: string; expected: string }
  | { op: "remove" };

/** Writes (or removes) a definition with its next tick; false when the op's condition failed. */
export async function saveSchedule(
  client: Redis,
  k: ScheduleKeys,
  name: string,
  o: SaveOp,
): Promise<boolean> {
  const args =
    o.op === "remove"
      ? ["remove", name, "", "", "", ""]
      : [
          o.op,
          name,
          o.json,
          o.next === null ? "" : o.next,
          o.op === "swap" ? o.expected : "",
          o.queue,
        ];
  const keys = [k.defs, k.where, k.queues, k.failing];
  const argv = [...args, k.nextPrefix, k.namesPrefix];
  return (await runScript<number>(client, scripts.scheduleSave, keys, argv)) === 1;
}

/** A definition longer than this is read without its payload by the lists (readBriefDefs). */
export const BRIEF_DEF_MAX_BYTES = 16 * 1024;

/**
 * `names`' definitions as the lists that never show a payload read them (schedule-brief.lua):
 * whole up to BRIEF_DEF_MAX_BYTES, else with `"payload":null` (one Courier did not write: cut,
 * so it parses as none); null for a name without one.
 */
export async function readBriefDefs(
  client: Redis,
  k: ScheduleKeys,
  names: readonly string[],
): Promise<(string | null)[]> {
  const args = [String(BRIEF_DEF_MAX_BYTES), ...names];
  const reply = await runScript<(string | false | null)[]>(
    client,
    scripts.scheduleBrief,
    [k.defs],
    args,
  );
  return reply.map((d) => (typeof d === "string" ? d : null));
}
