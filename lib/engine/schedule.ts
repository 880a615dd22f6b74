// Recurring schedules in Redis (docs/internals.md, "Recurring schedules"): the typed owner of
// schedule-due.lua, schedule-advance.lua and schedule-save.lua (their KEYS/ARGV and replies).
import type { Redis } from "../redis/connect.ts";
import type { ScheduleKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

export interface DueSchedule {
  name: string;
  /** The stored next tick (ms), at or before `now`. */
  tick: number;
  /** The stored JSON, or null when the name has no definition. */
  def: string | null;
}

export interface DueRead {
  /** Redis' time of the read (ms). */
  now: number;
  due: DueSchedule[];
  /** The earliest future tick of the schedules asked for, or null (none seen). */
  earliest: number | null;
}

/**
 * The schedules due now on Redis' clock (at most `most`), of `queues` only when given (a
 * worker's), and the earliest tick after now of those: how long a scheduler may sleep.
 */
export async function readDue(
  client: Redis,
  k: ScheduleKeys,
  most: number,
  queues: readonly string[] = [],
): Promise<DueRead> {
  const [now, flat, earliest] = await runScript<[number, (string | null)[], string]>(
    client,
    scripts.scheduleDue,
    [k.defs, k.next],
    [most, ...queues],
  );
  const due: DueSchedule[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    due.push({ name: String(flat[i]), tick: Number(flat[i + 1]), def: flat[i + 2] ?? null });
  }
  return { now: Number(now), due, earliest: earliest === "" ? null : Number(earliest) };
}

/**
 * Stores `next` (null: the schedule ends) as the schedule's next tick if its stored tick is
 * still `tick`; false when it had changed (another scheduler advanced it, or it was paused,
 * removed or replaced): nothing written.
 */
export async function advanceTick(
  client: Redis,
  k: ScheduleKeys,
  name: string,
  tick: number,
  next: number | null,
): Promise<boolean> {
  const args = [name, tick, next === null ? "" : next];
  return (await runScript<number>(client, scripts.scheduleAdvance, [k.next], args)) === 1;
}

export type SaveOp =
  | { op: "add" | "put"; json: string; next: number | null }
  | { op: "swap"; json: string; next: number | null; expected: string }
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
      ? ["remove", name, "", "", ""]
      : [o.op, name, o.json, o.next === null ? "" : o.next, o.op === "swap" ? o.expected : ""];
  return (await runScript<number>(client, scripts.scheduleSave, [k.defs, k.next], args)) === 1;
}
