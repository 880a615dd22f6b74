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
 * Where a wake is (rate-held.lua): its token (marks the keys it visited; "" before the first
 * page, which draws one: tokens rise, so an older wake never revisits a key a newer one did),
 * and the key whose waking copy it goes on with, by name and score (`key` "" before the first
 * page); `merging`: its set and the copy a stopped wake left are being merged, a page a call.
 */
export interface HeldPlace {
  wake: string;
  key: string;
  score: string;
  merging: boolean;
}

/** The place a new wake starts at. */
export function wakeStart(): HeldPlace {
  return { wake: "", key: "", score: "-inf", merging: false };
}

/**
 * One page of held jobs, from place `at`: at most `keysMost` keys looked at and `membersMost`
 * members read (`<shard>|<job id>`), which leave their keys' waking copies (those past their
 * due time unnamed: back on their own). `next`: the place to
 * go on from, null when done.
 */
export async function takeRateHeld(
  client: Redis,
  lk: LimitKeys,
  at: HeldPlace,
  keysMost: number,
  membersMost: number,
): Promise<{ next: HeldPlace | null; members: string[] }> {
  const args = [lk.rateHeldPrefix, lk.keyPrefix, lk.rateWakingPrefix, at.wake, at.key, at.score];
  args.push(at.merging ? "1" : "", String(keysMost), String(membersMost));
  type Reply = [number, string, string, string, string, ...string[]];
  const reply = await runScript<Reply>(client, scripts.rateHeld, [lk.keys, lk.layout], args);
  const [more, key, score, wake, merging, ...members] = reply;
  const place = { wake: String(wake), key: String(key), score: String(score) };
  const next = Number(more) === 1 ? { ...place, merging: String(merging) === "1" } : null;
  return { next, members: members.map(String) };
}

/** Wakes every job held back by a key's rate (shard s's keys at `shards[s]`); how many moved. */
export async function wakeRateHeld(
  client: Redis,
  lk: LimitKeys,
  shards: readonly QueueKeys[],
): Promise<number> {
  let moved = 0;
  for (let at: HeldPlace | null = wakeStart(); at; ) {
    const page = await takeRateHeld(client, lk, at, PAGE, MEMBERS_PER_CALL);
    at = page.next;
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
