// Reading a queue's rate limits for `info`, /metrics and the dashboard: the settings on its
// layout key (readLimits) and the held keys (readHeldKeys: those whose next slot is still to
// come, by Redis' clock, the soonest HELD_SHOWN with their running jobs), and how many are held
// in all. Bounded whatever the number of keys. Every key read is under the queue's own tag, so
// the calls go to one node. A setting of ours that cannot be read (corrupt, written by hand)
// shows as no limit rather than failing the report.
import { limitKeys } from "../engine/keys.ts";
import { readHeldKeys, readLimits } from "../engine/limits.ts";
import type { Redis } from "../redis/connect.ts";
import { HELD_SHOWN, type LimitsView } from "./limits-view.ts";

/** The queue's limits and held keys at `nowMs` (Redis' time). */
export async function readLimitsView(
  client: Redis,
  prefix: string,
  queue: string,
  nowMs: number,
): Promise<LimitsView> {
  const lk = limitKeys(prefix, queue);
  const [limits, held, total] = await Promise.all([
    readLimits(client, prefix, queue),
    readHeldKeys(client, lk, nowMs, HELD_SHOWN),
    client.sendCommand<number>(["ZCOUNT", lk.keys, String(nowMs), "+inf"]),
  ]);
  return { ...limits, nowMs, held, heldTotal: Number(total) };
}
