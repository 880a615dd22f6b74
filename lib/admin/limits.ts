// Reading a queue's rate limits for `info`, /metrics and the dashboard: the settings on its
// layout key and the held keys (those whose next slot is still to come, by Redis' clock), the
// soonest HELD_SHOWN with their running jobs. Bounded whatever the number of keys: one HMGET,
// one ZCOUNT, one ZRANGE of at most HELD_SHOWN, one ZCOUNT per key shown. Every key read is
// under the queue's own tag, so the calls go to one node. A value of ours that cannot be read
// (corrupt, written by hand) shows as no limit rather than failing the report.
import { type LimitKeys, limitKeys } from "../engine/keys.ts";
import { LIMIT_FIELDS, limitsFrom } from "../engine/limits.ts";
import type { Redis } from "../redis/connect.ts";
import { HELD_SHOWN, type HeldKey, type LimitsView } from "./limits-view.ts";

/** The queue's limits and held keys at `nowMs` (Redis' time). */
export async function readLimitsView(
  client: Redis,
  prefix: string,
  queue: string,
  nowMs: number,
): Promise<LimitsView> {
  const k = limitKeys(prefix, queue);
  const now = String(nowMs);
  const [settings, total, shown] = await Promise.all([
    client.sendCommand<(string | null)[]>(["HMGET", k.layout, ...SETTING_FIELDS]),
    client.sendCommand<number>(["ZCOUNT", k.keys, `(${now}`, "+inf"]),
    client.sendCommand<string[]>([
      ...["ZRANGE", k.keys, `(${now}`, "+inf", "BYSCORE"],
      ...["LIMIT", "0", String(HELD_SHOWN), "WITHSCORES"],
    ]),
  ]);
  return {
    ...limitsFrom(settings),
    held: await heldKeys(client, k, pairs(shown), nowMs),
    heldTotal: Number(total),
  };
}

// limitsFrom's order.
const SETTING_FIELDS = [LIMIT_FIELDS.rate, LIMIT_FIELDS.keyConcurrency, LIMIT_FIELDS.keyRate];

/** `[member, score, …]` as pairs; a score that is not a number is left out. */
function pairs(flat: readonly string[]): [string, number][] {
  const out: [string, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const score = Number(flat[i + 1]);
    if (Number.isFinite(score)) out.push([flat[i]!, score]);
  }
  return out;
}

async function heldKeys(
  client: Redis,
  k: LimitKeys,
  shown: [string, number][],
  nowMs: number,
): Promise<HeldKey[]> {
  // A running slot is a job id scored by when it expires: those still to expire are running.
  const running = await Promise.all(
    shown.map(([key]) =>
      client.sendCommand<number>(["ZCOUNT", k.running(key), `(${nowMs}`, "+inf"]),
    ),
  );
  return shown.map(([key, at], i) => ({
    key,
    nextSlotMs: at,
    inMs: Math.max(0, at - nowMs),
    running: Number(running[i]),
  }));
}
