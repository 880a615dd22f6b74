// Per-minute counts (the `minutes` hash the finish and fail scripts write) turned into "in the
// last minute / hour" figures and a series for the dashboard's chart. Pure: tested with tables.

/** What the scripts count per minute. */
export const MINUTE_COUNTS = ["finished", "failed", "retried"] as const;
export type MinuteCount = (typeof MINUTE_COUNTS)[number];

const MINUTE_MS = 60_000;

export function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS);
}

/** Fields to HMGET for the `minutes` whole minutes up to now, plus the one before them. */
export function minuteFields(now: number, minutes: number): string[] {
  const last = minuteOf(now);
  const fields: string[] = [];
  for (let m = last - minutes; m <= last; m++) {
    for (const name of MINUTE_COUNTS) fields.push(`${m}:${name}`);
  }
  return fields;
}

/**
 * Per-minute counts by name, from the fields and the HMGET reply (missing = 0). A value that is
 * no count the scripts write (decimal digits: `1e400`, `2.5`, `0x10` by hand) is left out: read
 * as a number, `info` said "Infinity jobs in the last minute" and its JSON null.
 */
export function bucketsFrom(
  fields: readonly string[],
  values: readonly (string | null)[],
): Map<string, number> {
  const buckets = new Map<string, number>();
  fields.forEach((f, i) => {
    const v = values[i];
    const n = typeof v === "string" && /^\d{1,15}$/.test(v) ? Number(v) : 0;
    if (n > 0) buckets.set(f, n);
  });
  return buckets;
}

/**
 * How many `name` events happened in the `minutes` minutes before `now`. The current minute
 * counts whole; the minute before the window counts in part, for the part of it still inside
 * (the usual sliding-window estimate: exact when events are spread evenly, never off by more
 * than that one minute's count).
 */
export function windowCount(
  buckets: ReadonlyMap<string, number>,
  name: MinuteCount,
  now: number,
  minutes: number,
): number {
  const current = minuteOf(now);
  const elapsed = (now - current * MINUTE_MS) / MINUTE_MS;
  let total = 0;
  for (let m = current - minutes + 1; m <= current; m++) total += buckets.get(`${m}:${name}`) ?? 0;
  total += (buckets.get(`${current - minutes}:${name}`) ?? 0) * (1 - elapsed);
  return Math.round(total);
}

export interface MinutePoint {
  /** Start of the minute, ms since the epoch. */
  at: number;
  finished: number;
  failed: number;
  retried: number;
}

/** One point per minute, oldest first, the last being the current (partial) minute. */
export function minuteSeries(
  buckets: ReadonlyMap<string, number>,
  now: number,
  minutes: number,
): MinutePoint[] {
  const current = minuteOf(now);
  const points: MinutePoint[] = [];
  for (let m = current - minutes + 1; m <= current; m++) {
    const get = (name: MinuteCount) => buckets.get(`${m}:${name}`) ?? 0;
    points.push({
      at: m * MINUTE_MS,
      finished: get("finished"),
      failed: get("failed"),
      retried: get("retried"),
    });
  }
  return points;
}
