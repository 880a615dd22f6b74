// The run-time histogram of a queue's finished jobs, for /metrics: the durations hash finish.lua
// counts into (its bounds, DURATION_BOUNDS_MS, are finish.lua's too), read per shard and summed.

import type { QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";
import { pairs } from "../redis/reply.ts";

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

export async function readDurations(client: Redis, keys: QueueKeys): Promise<Durations> {
  const flat = await client.sendCommand<string[]>(["HGETALL", keys.durations]);
  const d: Durations = { buckets: new Map(), sumMs: 0, count: 0 };
  for (const [name, raw] of pairs(flat)) {
    const value = Number(raw);
    if (name === "sum_ms") d.sumMs = value;
    const bound = BUCKET_FIELDS.get(name);
    // A field finish.lua never writes (`count`, or one added by hand) is no bucket: counted,
    // it would make `_count` differ from the `+Inf` bucket, an invalid histogram.
    if (bound === undefined) continue;
    d.buckets.set(bound, value);
    d.count += value;
  }
  return d;
}
