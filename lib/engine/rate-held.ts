// Jobs held back by their key's rate, woken when the key rate changes (docs/internals.md,
// "Rate limits"): owns rate-held.lua's KEYS/ARGV order and reply. Held jobs wait in their
// shards' delayed sets until due times spaced by the rate they were held under; a key rate
// cleared or raised would leave them late, so they are moved to their streams now (wake.lua)
// and ask the limiter again under the new rate.
import type { Redis } from "../redis/connect.ts";
import { wakeJobs } from "./hold.ts";
import type { LimitKeys, QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/**
 * Held keys and held jobs read per call: a call's work and reply stay small whatever the
 * number of keys, and of jobs one key holds back (a key's backlog).
 */
const PAGE = 200;
const MEMBERS_PER_CALL = 1_000;

/**
 * One page of held jobs, from the held key at index `from`: at most `keysMost` keys and
 * `membersMost` members (`<shard>|<job id>`), which leave their keys' sets. `next`: the index
 * to go on from, -1 when done.
 */
export async function takeRateHeld(
  client: Redis,
  lk: LimitKeys,
  from: number,
  keysMost: number,
  membersMost: number,
): Promise<{ next: number; members: string[] }> {
  const args = [lk.rateHeldPrefix, lk.keyPrefix, from, keysMost, membersMost];
  const [next, ...members] = await runScript<[number, ...string[]]>(
    client,
    scripts.rateHeld,
    [lk.keys],
    args,
  );
  return { next: Number(next), members: members.map(String) };
}

/** Wakes every job held back by a key's rate (shard s's keys at `shards[s]`); how many moved. */
export async function wakeRateHeld(
  client: Redis,
  lk: LimitKeys,
  shards: readonly QueueKeys[],
): Promise<number> {
  let moved = 0;
  for (let from = 0; from >= 0; ) {
    const page = await takeRateHeld(client, lk, from, PAGE, MEMBERS_PER_CALL);
    from = page.next;
    const byShard = new Map<number, string[]>();
    for (const m of page.members) {
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
