// A rate as an operator writes and reads it (`100/s`, `5/m`, `N/<duration>`): parsed into a
// count per interval in ms, checked against the bounds a stored rate may have, formatted back.
// Pure: how a rate is stored on the layout key is limits.ts.

import { exactDuration } from "../admin/duration.ts";
import { InputError } from "../errors.ts";
import { kind } from "../option-keys.ts";
import { shownInput } from "../safe-text.ts";

/** At most `count` starts per `perMs` milliseconds. */
export interface Rate {
  count: number;
  perMs: number;
}

/** Most starts a rate may name per interval, and the interval's bounds. */
export const RATE_COUNT_MAX = 1_000_000;
export const RATE_PER_MAX_MS = 7 * 86_400_000;
const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * `100/s`, `5/m`, `1/h`, or `N/<duration>` (`10/500ms`, `3/2s`) as a Rate; throws InputError
 * (one line: the CLI exits 2). N is a whole number from 1 to RATE_COUNT_MAX.
 */
export function parseRate(text: string): Rate {
  if (typeof text !== "string")
    throw new InputError(`a rate is text (e.g. 100/s), got ${kind(text)}`);
  const m = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(text);
  const bad = () =>
    new InputError(
      `"${shownInput(text)}" is not a rate: use N/s, N/m, N/h or N/<duration>, e.g. 100/s or 5/2s`,
    );
  if (!m) throw bad();
  const count = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  let perMs = UNITS[unit];
  if (perMs === undefined) {
    if (!/^\d/.test(unit)) throw bad();
    perMs = exactDuration(unit);
    // 1/1.5ms would be stored rounded (a rate not asked for): refused instead.
    if (Math.abs(perMs - Math.round(perMs)) > 1e-6) perMs = Number.NaN;
    else perMs = Math.round(perMs);
  }
  const problem = rateProblem({ count, perMs });
  if (problem) throw new InputError(`rate "${text}": ${problem}`);
  return { count, perMs };
}

/** What is wrong with a rate (the library's as parseRate's), or null. */
export function rateProblem(r: Rate): string | null {
  if (!Number.isSafeInteger(r.count) || r.count < 1 || r.count > RATE_COUNT_MAX) {
    return `the count must be a whole number from 1 to ${RATE_COUNT_MAX}`;
  }
  if (!Number.isSafeInteger(r.perMs) || r.perMs < 1 || r.perMs > RATE_PER_MAX_MS) {
    return "the interval must be a whole number of milliseconds from 1ms to 7d";
  }
  return null;
}

/** A rate as an operator reads it: `100/s`, `5/m`, `3/2000ms`. */
export function formatRate(r: Rate): string {
  for (const [unit, ms] of Object.entries(UNITS)) if (r.perMs === ms) return `${r.count}/${unit}`;
  return `${r.count}/${r.perMs}ms`;
}
