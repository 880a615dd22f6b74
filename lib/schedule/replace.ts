// A schedule's definition changed in place by compare and set (schedule-save.lua's `swap`): a
// pause, a resume, a replace (Schedules.add's `replace: true`, `schedule.ts add --replace`).
// Each reads what is stored, makes the new definition from it, and stores it only if what is
// stored is still what it read; a change landing in between is read again. A replace keeps a
// paused schedule paused: a pause holds until resume (a deploy that re-added its schedules with
// --replace restarted one paused for maintenance).
import type { ScheduleKeys } from "../engine/keys.ts";
import { saveSchedule } from "../engine/schedule.ts";
import { InputError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import { shownId } from "../safe-text.ts";
import type { ScheduleInfo } from "./read.ts";
import { parseDef, type ScheduleDef } from "./spec.ts";
import { firstTick } from "./ticks.ts";

/** How many times a change reads again after losing a race with another change. */
const SWAP_TRIES = 5;

/** A definition to store, as JSON, with its next tick (null: none) and its queue. */
export interface Stored {
  json: string;
  next: number | null;
  queue: string;
}

/**
 * Stores what `make` makes of the definition stored under `name` (null: none), by compare and
 * set, reading again on a race, at most SWAP_TRIES times (InputError then, naming `doing`).
 * `make` returns null for no change (nothing written: null returned), and may throw.
 */
export async function swapSchedule<T extends Stored>(
  client: Redis,
  k: ScheduleKeys,
  name: string,
  doing: string,
  make: (stored: string | null) => Promise<T | null> | T | null,
): Promise<T | null> {
  for (let i = 0; i < SWAP_TRIES; i++) {
    const stored = await client.sendCommand<string | null>(["HGET", k.defs, name]);
    const change = await make(stored);
    if (change === null) return null;
    const { json, next, queue } = change;
    const op =
      stored === null
        ? { op: "add" as const, json, next, queue }
        : { op: "swap" as const, json, next, queue, expected: stored };
    if (await saveSchedule(client, k, name, op)) return change;
  }
  throw new InputError(`schedule ${shownId(name)} kept changing while it was ${doing}: try again`);
}

/**
 * Stores `def` under `name` in place of what is there; the schedule stays paused if it was,
 * else its next tick is its first from `def.created_at`.
 */
export async function replaceSchedule(
  client: Redis,
  k: ScheduleKeys,
  name: string,
  def: ScheduleDef,
): Promise<ScheduleInfo & { created: boolean }> {
  const done = await swapSchedule(client, k, name, "replaced", (stored) => {
    const kept = { ...def, paused: parseDef(stored)?.paused === true };
    const next = kept.paused ? null : firstTick(def, def.created_at);
    return { json: JSON.stringify(kept), next, queue: def.queue, kept };
  });
  const { kept, next } = done!; // make never answers "no change"
  return { name, def: kept, next, created: true };
}
