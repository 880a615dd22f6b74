// The run-time histogram of a queue's finished jobs, for /metrics: the durations hash finish.lua
// counts into (its bounds, DURATION_BOUNDS_MS, are finish.lua's too), read per shard and summed.

import type { QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";

/**
 * Run-time histogram of finished jobs: counts per upper bound (ms, or Infinity), sum, and count,
 * the sum of the buckets (finish.lua writes no count field: one call per batch less; a `count`
 * field an earlier Courier wrote is ignored).
 */
export interface Durations {
  buckets: Map<number, number>;
  sumMs: number;
  count: number;
}

/** Histogram bounds in ms; lib/engine/lua/finish.lua counts with the same list (a test checks they agree). */
export const DURATION_BOUNDS_MS = [
  5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000,
] as const;

/** The durations hash's bucket fields (finish.lua writes no other), and their bounds. */
const BUCKET_FIELDS = new Map<string, number>([
  ...DURATION_BOUNDS_MS.map((b): [string, number] => [String(b), b]),
  ["inf", Number.POSITIVE_INFINITY],
]);

/**
 * The histogram's fields only (HMGET of the buckets and `sum_ms`): a field finish.lua never
 * writes (`count`, or one added by hand) is no bucket, and is not read at all (read whole, one
 * of 10 MB was read on every scrape). Counted, it made `_count` differ from the `+Inf` bucket.
 */
export async function readDurations(client: Redis, keys: QueueKeys): Promise<Durations> {
  const fields = [...BUCKET_FIELDS.keys()];
  const values = await client.sendCommand<(string | null)[]>([
    "HMGET",
    keys.durations,
    "sum_ms",
    ...fields,
  ]);
  const [sum, ...buckets] = values;
  const d: Durations = { buckets: new Map(), sumMs: 0, count: 0 };
  if (sum !== null && sum !== undefined) d.sumMs = Number(sum);
  fields.forEach((name, i) => {
    const raw = buckets[i];
    if (raw === null || raw === undefined) return;
    const value = Number(raw);
    d.buckets.set(BUCKET_FIELDS.get(name)!, value);
    d.count += value;
  });
  return d;
}
