// A schedule replaced (Schedules.add's `replace: true`, `schedule.ts add --replace`): its new
// definition stored, paused if the old one was. A pause holds until resume: a replace that ran
// the schedule again undid an operator's pause unsaid (a deploy that re-adds its schedules with
// --replace restarted one paused for maintenance).
import type { ScheduleKeys } from "../engine/keys.ts";
import { saveSchedule } from "../engine/schedule.ts";
import { InputError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import { shownId } from "../safe-text.ts";
import type { ScheduleInfo } from "./read.ts";
import { parseDef, type ScheduleDef } from "./spec.ts";
import { firstTick } from "./ticks.ts";

/**
 * Stores `def` under `name` in place of what is there, by compare and set (a pause or resume
 * landing in between is read again, at most `tries` times; InputError then); the schedule stays
 * paused if it was, else its next tick is its first from `def.created_at`.
 */
export async function replaceSchedule(
  client: Redis,
  k: ScheduleKeys,
  name: string,
  def: ScheduleDef,
  tries: number,
): Promise<ScheduleInfo & { created: boolean }> {
  for (let i = 0; i < tries; i++) {
    const stored = await client.sendCommand<string | null>(["HGET", k.defs, name]);
    const kept = { ...def, paused: parseDef(stored)?.paused === true };
    const next = kept.paused ? null : firstTick(def, def.created_at);
    const json = JSON.stringify(kept);
    const queue = def.queue;
    const op =
      stored === null
        ? { op: "add" as const, json, next, queue }
        : { op: "swap" as const, json, next, queue, expected: stored };
    if (await saveSchedule(client, k, name, op)) return { name, def: kept, next, created: true };
  }
  throw new InputError(`schedule ${shownId(name)} kept changing while it was replaced: try again`);
}
