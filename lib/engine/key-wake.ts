// Jobs waiting for a running slot of their limit key, woken (docs/internals.md, "Rate limits"):
// limit-done.lua frees the running slots of runs that ended and names the first waiters, one
// per slot free, in order; wake.lua moves each from its shard's delayed set to its stream. A
// worker does it when its runs end (lib/worker/queue-limits.ts), and a change of key
// concurrency for every held key (lib/admin/controls.ts): raised or removed, it frees slots no
// run's end would announce.
import type { Redis } from "../redis/connect.ts";
import { wakeJobs } from "./hold.ts";
import type { LimitKeys, QueueKeys } from "./keys.ts";
import {
  freeSlots,
  type LimitEnded,
  type LimitProblemKind,
  WAKE_MOST_PER_CALL,
  type Woken,
} from "./limit.ts";
import { runScript, scripts } from "./lua.ts";

/** What frees slots: runs ended, waiters gone (ended, canceled), keys whose limit changed. */
export interface Freed {
  ended?: readonly LimitEnded[];
  gone?: readonly Woken[];
  keys?: readonly string[];
  /**
   * Limit keys of a free tried again after it failed (its reply lost, or its wakes failed and
   * could not be undone): their waiters still marked woken are woken again first.
   */
  again?: readonly string[];
}

/**
 * Rounds at most per call: a woken job that ended meanwhile (canceled) is dropped and the next
 * woken, each round dropping what the last woke in vain; what is left waits its fallback.
 */
const ROUNDS = 5;

/**
 * Frees what `freed` says and wakes the waiters that frees. `shardKeys`: shard s's keys (its
 * woken jobs are moved there). `unreadable` hears each limit key skipped (freeSlots). Returns
 * every waiter woken (in all rounds) but those their wake found ended (they take no slot).
 */
export async function freeAndWake(
  client: Redis,
  lk: LimitKeys,
  shardKeys: (shard: number) => QueueKeys | undefined,
  freed: Freed,
  unreadable: (problem: string, kind: LimitProblemKind) => void = () => {},
): Promise<Woken[]> {
  let { ended = [], gone = [], keys = [], again = [] } = freed;
  const all: Woken[] = [];
  const more = () => ended.length + gone.length + keys.length + again.length > 0;
  for (let round = 0; round < ROUNDS && more(); round++) {
    const woken = await freeSlots(client, lk, ended, gone, unreadable, keys, again);
    ended = [];
    keys = [];
    again = [];
    gone = await wakeWoken(client, lk, shardKeys, woken);
    const vain = new Set(gone.map((g) => `${g.shard}|${g.jobId}`));
    for (const w of woken) if (!vain.has(`${w.shard}|${w.jobId}`)) all.push(w);
  }
  return all;
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
  // Grouped in place: a copy per waiter (spread into a new array) took 28 s for a key
  // concurrency raised over 100,000 waiters (quadratic).
  const byShard = new Map<number, Woken[]>();
  for (const w of woken) {
    const group = byShard.get(w.shard);
    if (group) group.push(w);
    else byShard.set(w.shard, [w]);
  }
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
        const gone = new Set(ended);
        return ws.filter((w) => gone.has(w.jobId));
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

/** Where a walk of the held keys is: the last key read and its score (held-page.lua). */
interface HeldKeysPlace {
  key: string;
  score: string;
}

/** A page of the held keys from `at` (held-page.lua), and the place to go on from (or null). */
async function heldPage(
  client: Redis,
  lk: LimitKeys,
  at: HeldKeysPlace,
  size: number,
): Promise<{ keys: string[]; next: HeldKeysPlace | null }> {
  const args = [at.key, at.score, String(size)];
  const reply = await runScript<string[]>(client, scripts.heldPage, [lk.keys], args);
  const [more, key, score, ...keys] = reply.map(String);
  const next = more === "1" ? { key: key ?? "", score: score ?? "-inf" } : null;
  return { keys, next };
}

/**
 * A key concurrency raised or removed: the waiters of every held key (those waiting for a
 * running slot are listed in limit:keys) woken to the slots free under it now (every one when
 * it was removed). Without this they waited for a run's end, or their fallback: the first
 * running slot's expiry.
 */
export async function wakeKeyWaiters(
  client: Redis,
  lk: LimitKeys,
  shards: readonly QueueKeys[],
  unreadable: (problem: string, kind: LimitProblemKind) => void = () => {},
): Promise<void> {
  // A page is woken before the next is read (one page in memory, however many keys are held).
  // The list changes meanwhile (listings dropped, keys whose waiters started taken off): the
  // place is a key and its score, never an index (held-page.lua).
  for (let at: HeldKeysPlace | null = { key: "", score: "-inf" }; at; ) {
    const page = await heldPage(client, lk, at, KEYS_PER_CALL);
    at = page.next;
    let keys = page.keys;
    while (keys.length > 0) {
      const woken = await freeAndWake(client, lk, (s) => shards[s], { keys }, unreadable);
      // limit-done.lua wakes WAKE_MOST_PER_CALL waiters of a key a call, and their starts free
      // no slot to wake the rest (they waited for their fallback, minutes on): a key that woke
      // that many is called again. The script counts the waiters woken and not started yet
      // against its free slots; a count of all woken so far, sent from here, also took off
      // those started meanwhile (in its running set too): 1 to 250 over 400 waiters ran 150.
      const count = new Map<string, number>();
      for (const w of woken) count.set(w.limitKey, (count.get(w.limitKey) ?? 0) + 1);
      keys = keys.filter((k) => (count.get(k) ?? 0) >= WAKE_MOST_PER_CALL);
    }
  }
}
