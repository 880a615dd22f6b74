// Jobs held back by their key's rate, woken when the key rate changes (docs/internals.md,
// "Rate limits"): owns rate-held.lua's KEYS/ARGV order and reply. Held jobs wait in their
// shards' delayed sets until due times spaced by the rate they were held under; a key rate
// cleared or raised would leave them late, so they are moved to their streams now (wake.lua)
// and ask the limiter again under the new rate.
import type { Redis } from "../redis/connect.ts";
import { wakeJobs } from "./hold.ts";
import type { LimitKeys, QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** Held keys read per call: a call's work stays small whatever the number of keys. */
const PAGE = 200;

/** Wakes every job held back by a key's rate (shard s's keys at `shards[s]`); how many moved. */
export async function wakeRateHeld(
  client: Redis,
  lk: LimitKeys,
  shards: readonly QueueKeys[],
): Promise<number> {
  let moved = 0;
  for (let from = 0; from >= 0; ) {
    const args = [lk.rateHeldPrefix, lk.keyPrefix, from, PAGE];
    const [next, ...members] = await runScript<[number, ...string[]]>(
      client,
      scripts.rateHeld,
      [lk.keys],
      args,
    );
    from = Number(next);
    const byShard = new Map<number, string[]>();
    for (const m of members.map(String)) {
      const bar = m.indexOf("|");
      const shard = Number(m.slice(0, bar));
      if (bar <= 0) continue;
      const ids = byShard.get(shard);
      if (ids) ids.push(m.slice(bar + 1));
      else byShard.set(shard, [m.slice(bar + 1)]);
    }
    for (const [shard, ids] of byShard) {
      const keys = shards[shard];
      if (keys) moved += (await wakeJobs(client, keys, ids)).moved;
    }
  }
  return moved;
}
