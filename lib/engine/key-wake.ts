// Jobs waiting for a running slot of their limit key, woken (docs/internals.md, "Rate limits"):
// limit-done.lua frees the running slots of runs that ended and names the first waiters, one
// per slot free, in order; wake.lua moves each from its shard's delayed set to its stream. A
// worker does it when its runs end (lib/worker/queue-limits.ts), and a change of key
// concurrency for every held key (lib/admin/controls.ts): raised or removed, it frees slots no
// run's end would announce.
import type { Redis } from "../redis/connect.ts";
import { wakeJobs } from "./hold.ts";
import type { LimitKeys, QueueKeys } from "./keys.ts";
import { freeSlots, type LimitEnded, type Woken } from "./limit.ts";

/** What frees slots: runs ended, waiters gone (ended, canceled), keys whose limit changed. */
export interface Freed {
  ended?: readonly LimitEnded[];
  gone?: readonly Woken[];
  keys?: readonly string[];
}

/**
 * Rounds at most per call: a woken job that ended meanwhile (canceled) is dropped and the next
 * woken, each round dropping what the last woke in vain; what is left waits its fallback.
 */
const ROUNDS = 5;

/**
 * Frees what `freed` says and wakes the waiters that frees. `shardKeys`: shard s's keys (its
 * woken jobs are moved there). `unreadable` hears each limit key skipped (freeSlots).
 */
export async function freeAndWake(
  client: Redis,
  lk: LimitKeys,
  shardKeys: (shard: number) => QueueKeys | undefined,
  freed: Freed,
  unreadable: (problem: string) => void = () => {},
): Promise<void> {
  let { ended = [], gone = [], keys = [] } = freed;
  for (let round = 0; round < ROUNDS && ended.length + gone.length + keys.length > 0; round++) {
    const woken = await freeSlots(client, lk, ended, gone, unreadable, keys);
    ended = [];
    keys = [];
    gone = await wakeWoken(client, lk, shardKeys, woken);
  }
}

/**
 * Moves `woken` to their streams; returns those that had ended (their wake was in vain). A
 * shard whose wake fails gives its woken back their place unwoken (unwake), then the failure
 * is thrown: left marked woken, a later free would pass over them (it wakes only the unwoken)
 * and they would wait for their fallback, behind the waiters after them.
 */
async function wakeWoken(
  client: Redis,
  lk: LimitKeys,
  shardKeys: (shard: number) => QueueKeys | undefined,
  woken: Woken[],
): Promise<Woken[]> {
  const byShard = new Map<number, Woken[]>();
  for (const w of woken) byShard.set(w.shard, [...(byShard.get(w.shard) ?? []), w]);
  const tries = await Promise.allSettled(
    [...byShard].map(async ([shard, ws]) => {
      const keys = shardKeys(shard);
      if (!keys) return [];
      try {
        const { ended } = await wakeJobs(
          client,
          keys,
          ws.map((w) => w.jobId),
        );
        return ws.filter((w) => ended.includes(w.jobId));
      } catch (err) {
        await unwake(client, lk, ws);
        throw err;
      }
    }),
  );
  const failed = tries.find((t) => t.status === "rejected");
  if (failed) throw failed.reason;
  return tries.flatMap((t) => (t.status === "fulfilled" ? t.value : []));
}

/**
 * Woken waiters not moved: scored positive again (limit-done.lua marks a woken one negative,
 * keeping its place), so the next free wakes them first. Two commands, not a script: only
 * limit-done.lua scores a member negative, a job that asks again re-adds it with the same
 * place, and XX adds none that left (started, or gone) meanwhile.
 */
async function unwake(client: Redis, lk: LimitKeys, ws: readonly Woken[]): Promise<void> {
  for (const w of ws) {
    const waiting = lk.waiting(w.limitKey);
    const member = `${w.shard}|${w.jobId}`;
    const score = Number(await client.sendCommand(["ZSCORE", waiting, member]));
    if (score < 0) await client.sendCommand(["ZADD", waiting, "XX", String(-score), member]);
  }
}

/** Held keys looked at per call (limit:keys grows with the keys held back). */
const KEYS_PER_CALL = 200;

/**
 * A key concurrency raised or removed: the waiters of every held key (those waiting for a
 * running slot are listed in limit:keys) woken to the slots free under it now. Without this
 * they waited for a run's end, or their fallback: the first running slot's expiry.
 */
export async function wakeKeyWaiters(
  client: Redis,
  lk: LimitKeys,
  shards: readonly QueueKeys[],
  unreadable: (problem: string) => void = () => {},
): Promise<void> {
  // Paged from the latest listing down, a page woken before the next is read (one page in
  // memory, however many keys are held): every limit.lua call drops the listings whose time
  // passed, the earliest ones, which an offset from the start would count and then skip keys.
  // From the end they are all behind the page read. A key listed again meanwhile (a job of it
  // asked, under the new limit) moves up: read twice at most, and a wake frees only free slots.
  for (let at = 0; ; at += KEYS_PER_CALL) {
    const page = ["ZREVRANGE", lk.keys, String(at), String(at + KEYS_PER_CALL - 1)];
    const keys = (await client.sendCommand<string[]>(page)).map(String);
    if (keys.length > 0) await freeAndWake(client, lk, (s) => shards[s], { keys }, unreadable);
    if (keys.length < KEYS_PER_CALL) return;
  }
}
