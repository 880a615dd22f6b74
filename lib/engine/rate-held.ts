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
 * due time unnamed: back on their own). `next`: the place to go on from, null when done.
 * `unreadable`: keys visited whose hash holds another type (`<key> holds a <type>, not a hash`:
 * left as they are, their members named all the same).
 */
export async function takeRateHeld(
  client: Redis,
  lk: LimitKeys,
  at: HeldPlace,
  keysMost: number,
  membersMost: number,
): Promise<{ next: HeldPlace | null; members: string[]; unreadable: string[] }> {
  const args = [lk.rateHeldPrefix, lk.keyPrefix, lk.rateWakingPrefix, at.wake, at.key, at.score];
  args.push(at.merging ? "1" : "", String(keysMost), String(membersMost));
  type Reply = [number, string, string, string, string, string[], ...string[]];
  const reply = await runScript<Reply>(client, scripts.rateHeld, [lk.keys, lk.layout], args);
  const [more, key, score, wake, merging, unreadable, ...members] = reply;
  const place = { wake: String(wake), key: String(key), score: String(score) };
  const next = Number(more) === 1 ? { ...place, merging: String(merging) === "1" } : null;
  return { next, members: members.map(String), unreadable: unreadable.map(String) };
}

/**
 * What a wake did: `moved`, jobs moved to their streams; `dropped`, held members that name no
 * shard of the queue (a hand edit: gone from Redis once read, never woken on a shard they do
 * not name; their jobs, if any, come back at their due time on their own); `unreadable`, limit
 * keys whose hash holds another type (their jobs woken all the same, then held by the limiter).
 */
export interface HeldWake {
  moved: number;
  dropped: string[];
  unreadable: string[];
}

/** A shard's number as a held member writes it (limit.lua: `<shard>|`): digits, no sign. */
const SHARD = /^(0|[1-9][0-9]*)$/;

/** Wakes every job held back by a key's rate (shard s's keys at `shards[s]`). */
export async function wakeRateHeld(
  client: Redis,
  lk: LimitKeys,
  shards: readonly QueueKeys[],
): Promise<HeldWake> {
  const done: HeldWake = { moved: 0, dropped: [], unreadable: [] };
  for (let at: HeldPlace | null = wakeStart(); at; ) {
    const page = await takeRateHeld(client, lk, at, PAGE, MEMBERS_PER_CALL);
    at = page.next;
    for (const u of page.unreadable) if (!done.unreadable.includes(u)) done.unreadable.push(u);
    const byShard = new Map<number, string[]>();
    for (const m of page.members) {
      const bar = m.indexOf("|");
      const shard = m.slice(0, Math.max(bar, 0));
      if (!SHARD.test(shard) || Number(shard) >= shards.length) {
        done.dropped.push(m);
        continue;
      }
      const ids = byShard.get(Number(shard));
      if (ids) ids.push(m.slice(bar + 1));
      else byShard.set(Number(shard), [m.slice(bar + 1)]);
    }
    for (const [shard, ids] of byShard) {
      done.moved += (await wakeJobs(client, shards[shard] as QueueKeys, ids)).moved;
    }
  }
  return done;
}

/** Members named in a line at most: a hand edit may leave thousands. */
const NAMED_MOST = 5;

/** What a wake found wrong, one line each for the operator (empty when nothing was). */
export function heldWakeProblems(w: HeldWake): string[] {
  const lines = w.unreadable.map(
    (u) =>
      `limit key unreadable: ${u} (its held jobs woken; workers hold them until it is deleted)`,
  );
  if (w.dropped.length > 0) {
    const named = w.dropped
      .slice(0, NAMED_MOST)
      .map((m) => JSON.stringify(m))
      .join(", ");
    const left = w.dropped.length - NAMED_MOST;
    const more = left > 0 ? ` and ${left} more` : "";
    lines.push(
      `rate-held members naming no shard of the queue, dropped: ${named}${more} (their jobs, if any, come back at their due time)`,
    );
  }
  return lines;
}
