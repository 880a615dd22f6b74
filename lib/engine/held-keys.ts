// The limit keys held back now, as `info`, /metrics and the dashboard list them: read from the
// limiter's `limit:keys` set (each key's next slot), with each key's running count and whether
// a task's hold (a Retry-After) is on. Bounded by `count`, all under the queue's tag.
import { describeError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import type { LimitKeys } from "./keys.ts";

/** A limit key held back now (for `info`, `/metrics` and the dashboard). */
export interface HeldKey {
  key: string;
  /** Its next slot, or the end of its hold (Redis' ms). */
  nextMs: number;
  /**
   * Its jobs holding a running slot (started, or waiting here for their slot); null when its
   * running set cannot be read (a key of another type, written by hand): the others still show.
   */
  running: number | null;
  /**
   * Held by a task's hold (a 429, or 503 with Retry-After: holdKey) till `nextMs` at least,
   * rather than only waiting for its next slot by the rate or concurrency.
   */
  retryAfter: boolean;
}

/**
 * The keys held back (`limit:keys`), the latest next slot first, at most `count`, with their
 * running counts and whether a task's hold is on (one ZREVRANGEBYSCORE, then a ZCOUNT and an
 * HGET per key, all under the queue's tag). Latest first: a host held for a Retry-After of a
 * minute comes before busy keys whose next slot is milliseconds away, which change at every
 * start and would hide it. Entries past are dropped by the limiter's next call: `nowMs`
 * (Redis' clock) leaves them out here.
 */
export async function readHeldKeys(
  client: Redis,
  lk: LimitKeys,
  nowMs: number,
  count = 50,
): Promise<HeldKey[]> {
  const flat = await client.sendCommand<string[]>([
    ...["ZREVRANGEBYSCORE", lk.keys, "+inf", String(nowMs)],
    ...["WITHSCORES", "LIMIT", "0", String(count)],
  ]);
  const keys: { key: string; nextMs: number }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2)
    keys.push({ key: flat[i]!, nextMs: Number(flat[i + 1]) });
  const [running, heldUntil] = await Promise.all([
    Promise.all(
      keys.map((k) =>
        client
          .sendCommand<number>(["ZCOUNT", lk.running(k.key), String(nowMs), "+inf"])
          .then(Number, unreadableKey),
      ),
    ),
    Promise.all(
      keys.map((k) =>
        client
          .sendCommand<string | null>(["HGET", lk.key(k.key), "held_until"])
          .then((v) => Number(v ?? 0), unreadableKey),
      ),
    ),
  ]);
  return keys.map((k, i) => ({
    ...k,
    running: running[i] ?? null,
    retryAfter: (heldUntil[i] ?? 0) > nowMs,
  }));
}

/** null for a key of another type (one bad key hides nothing else); any other error thrown. */
function unreadableKey(err: unknown): null {
  if (/\bWRONGTYPE\b/.test(describeError(err))) return null;
  throw err;
}
