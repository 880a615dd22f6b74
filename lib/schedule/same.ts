// When Schedules.add finds a schedule of the name already stored: is it the one being added
// (nothing to change), or another (refused unless replaced)? A program that adds its schedules
// at every start counts on the answer staying "the same" across an upgrade of Courier.
import { WORDCOUNT_TASK } from "../tasks/wordcount/name.ts";
import { wordCountPayload } from "../tasks/wordcount/payload.ts";
import type { ScheduleDef } from "./spec.ts";

/**
 * The same schedule but for when it was made and whether it is paused, the stored one read as
 * this code would have stored it: a word-count payload saved by a Courier that did not normalise
 * its URL (`https://example.com`, now `https://example.com/`) is compared normalised, or every
 * re-add after the upgrade was refused as another definition.
 */
export function sameSchedule(stored: ScheduleDef, def: ScheduleDef): boolean {
  const strip = ({ created_at: _c, paused: _p, ...rest }: ScheduleDef) => JSON.stringify(rest);
  return strip({ ...stored, payload: asStoredNow(stored) }) === strip(def);
}

/** The payload checkSpec would store for this definition's task; as it is when it fails the check. */
function asStoredNow(def: ScheduleDef): unknown {
  if (def.task !== WORDCOUNT_TASK) return def.payload;
  try {
    return wordCountPayload(def.payload);
  } catch {
    return def.payload; // a payload no add takes now: another definition than any added
  }
}
