// Reading a queue's rate limits for `info`, /metrics and the dashboard: the settings on its
// layout key (readLimits) and the held keys (readHeldKeys: those whose next slot is still to
// come, by Redis' clock, the latest HELD_SHOWN with their running jobs), and how many are held
// in all. Bounded whatever the number of keys. Every key read is under the queue's own tag, so
// the calls go to one node. A setting of ours that cannot be read (corrupt, written by hand)
// shows as no limit rather than failing the report; a limiter key of another type shows as
// unreadable (one key's running count, or the whole view) and the caller's other numbers stand.
import { readHeldKeys } from "../engine/held-keys.ts";
import { layoutKey, limitKeys } from "../engine/keys.ts";
import { NO_LIMITS, readLimits } from "../engine/limits.ts";
import { cannotBeRead } from "../engine/unreadable-text.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { HELD_SHOWN, type LimitsView } from "./limits-view.ts";

/** The queue's limits and held keys at `nowMs` (Redis' time); never throws. */
export async function readLimitsView(
  client: Redis,
  prefix: string,
  queue: string,
  nowMs: number,
): Promise<LimitsView> {
  const lk = limitKeys(prefix, queue);
  const [settings, held] = await Promise.allSettled([
    readLimits(client, prefix, queue),
    Promise.all([
      readHeldKeys(client, lk, nowMs, HELD_SHOWN),
      client.sendCommand<number>(["ZCOUNT", lk.keys, String(nowMs), "+inf"]),
    ]),
  ]);
  const view: LimitsView = {
    ...(settings.status === "fulfilled" ? settings.value : NO_LIMITS),
    nowMs,
    held: held.status === "fulfilled" ? held.value[0] : [],
    heldTotal: held.status === "fulfilled" ? Number(held.value[1]) : 0,
  };
  const failed = [settings, held].find((r) => r.status === "rejected");
  if (!failed) return view;
  const keys: [string, string][] = [
    [lk.keys, "zset"],
    [layoutKey(prefix, queue), "hash"],
  ];
  return { ...view, unreadable: await whyUnreadable(client, failed.reason, keys) };
}

/**
 * Why the view could not be read: for a WRONGTYPE refusal, which of `keys` holds another type
 * than Courier keeps there (a TYPE each, asked only then), in `cannotBeRead`'s words; else the
 * cause as it came. Never throws.
 */
async function whyUnreadable(
  client: Redis,
  reason: unknown,
  keys: [string, string][],
): Promise<string> {
  const cause = describeCause(reason);
  if (!/\bWRONGTYPE\b/.test(cause)) return cause;
  try {
    const types = await Promise.all(keys.map(([key]) => client.sendCommand<string>(["TYPE", key])));
    const i = keys.findIndex(([, want], k) => types[k] !== "none" && types[k] !== want);
    return i < 0 ? cause : cannotBeRead(keys[i]![0], types[i]!, keys[i]![1]);
  } catch {
    return cause;
  }
}
