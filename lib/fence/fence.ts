// A run's fencing token (docs/internals.md, "Fenced runs"; README, "Fenced runs"): a number
// that grows with every run of one job, so a store the task writes to can refuse a write from
// a run that lost its lease (it stalled, another worker claimed the job and ran it) by keeping
// the highest fence it saw per key.
//
// Definition: for a run delivered from the stream entry `<ms>-<seq>` with Redis' delivery
// count `d` (1 for a fresh read, one more for each claim, the next count for a rerun on a full
// Redis), fence = ms × 10^40 + seq × 10^20 + d, written in decimal without leading zeros. Each
// of ms, seq and d is below 2^64 < 10^20, so the fence is `ms`, then `seq` in 20 digits, then
// `d` in 20 digits (60 digits at most, 53 for an entry of 2026): no arithmetic, and numbers
// compare as (ms, seq, d) do. Nothing is written when a run starts: the entry id and its count
// are what Redis already keeps.

/** Digits each of seq and the delivery count takes in a fence (10^20 > 2^64). */
const PART_DIGITS = 20;

/** PADS[k]: k zeros, made once (a slice of a string of zeros is an allocation per use). */
const PADS = Array.from({ length: PART_DIGITS + 1 }, (_, k) => "0".repeat(k));

/** The largest fence: every part at 2^64 − 1 (a stream id's and a delivery count's limit). */
export const FENCE_MAX_DIGITS = 60;

/**
 * The fence of the run delivered from stream entry `entryId` (`<ms>-<seq>`) for the
 * `deliveries`-th time (Redis' delivery count of the entry, this delivery included).
 */
export function fenceOf(entryId: string, deliveries: number | bigint): string {
  const dash = entryId.indexOf("-");
  const ms = entryId.slice(0, dash);
  const seq = entryId.slice(dash + 1);
  const d = String(deliveries);
  // Past 20 digits (never a real part) no zeros, as a slice of 20 zeros would give.
  const tail =
    (PADS[PART_DIGITS - seq.length] ?? "") + seq + (PADS[PART_DIGITS - d.length] ?? "") + d;
  // Entry 0-0 (runTask's, never a real entry): the delivery count alone.
  return ms === "0" ? tail.replace(/^0+(?=\d)/, "") : ms + tail;
}

/** Whether `text` is a fence as Courier writes it: 1 to 60 digits, no leading zero. */
export function isFence(text: unknown): text is string {
  return typeof text === "string" && /^(0|[1-9]\d{0,59})$/.test(text);
}

/**
 * Orders two fences as the numbers they are: negative when `a` is the earlier run, 0 for the
 * same run, positive when `a` is the later one. Text compare alone is wrong ("9" > "10"), and
 * `Number()` is wrong past 2^53 (two runs of one entry would compare equal); this compares by
 * length, then text, which is exact for decimals without leading zeros. Throws a TypeError for
 * anything that is not a fence (isFence), so a corrupt stored value is never taken as low.
 */
export function compareFences(a: string, b: string): number {
  for (const f of [a, b]) {
    if (!isFence(f)) throw new TypeError(`not a fence: ${JSON.stringify(String(f).slice(0, 80))}`);
  }
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
