// Durations as operators type them: `45s`, `30m`, `12h`, `7d` (also `1d12h`, `500ms`, a bare `0`).
// Pure: tested with a table.

import { InputError } from "../errors.ts";
import { kind } from "../option-keys.ts";
import { shownInput } from "../safe-text.ts";

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** Milliseconds in `text`; throws InputError (exit 2) naming the accepted forms. */
export function parseDuration(text: string): number {
  return Math.round(exactDuration(text));
}

/** Milliseconds in `text`, a fraction kept (`1.5ms` is 1.5); throws as parseDuration. */
export function exactDuration(text: string): number {
  if (typeof text !== "string")
    throw new InputError(`a duration is text (e.g. 5m), got ${kind(text)}`);
  const input = text.trim().toLowerCase();
  // Zero is zero in any unit: `0` needs none (`dead purge --older-than 0` then says --all).
  if (/^0+(?:\.0+)?$/.test(input)) return 0;
  if (!WHOLE.test(input)) {
    throw new InputError(
      `"${shownInput(text)}" is not a duration: use a number and a unit, e.g. 45s, 30m, 12h, 7d or 1d12h`,
    );
  }
  let total = 0;
  let last = Number.POSITIVE_INFINITY;
  for (const m of input.matchAll(PART)) {
    const size = UNIT_MS[m[2] as keyof typeof UNIT_MS];
    // `5m5m` or `30s1m` is a typo more likely than a sum: each unit once, largest first.
    if (size >= last) {
      throw new InputError(
        `"${shownInput(text)}" is not a duration: give each unit once, largest first (1h30m, not 30m1h or 5m5m)`,
      );
    }
    last = size;
    total += Number(m[1]) * size;
  }
  return total;
}

/** `90061000` → `1d1h1m1s`; under a second → `0s`. The reverse of parseDuration, for output. */
export function formatDuration(ms: number): string {
  let left = Math.max(0, Math.floor(ms / 1_000));
  let out = "";
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    const n = Math.floor(left / size);
    left -= n * size;
    if (n > 0) out += `${n}${unit}`;
  }
  return out || "0s";
}
