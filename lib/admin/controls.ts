// The operator's controls on a queue (`queue.ts`, the dashboard): pause and resume, its rate
// limits and held limit keys, and emptying its waiting work. Workers follow a change within
// pauseCheckMs; nothing here runs on a job's hot path.

import { type Emptied, type EmptiedKeyed, emptyShard } from "../engine/empty.ts";
import { type HeldKey, readHeldKeys } from "../engine/held-keys.ts";
import { holdKey } from "../engine/hold-key.ts";
import { freeAndWake, wakeKeyWaiters } from "../engine/key-wake.ts";
import { LEVELS, levelKeys, limitKeys, type QueueKeys } from "../engine/keys.ts";
import type { LimitProblemKind } from "../engine/limit.ts";
import { type Limits, type LimitsChange, readLimits, writeLimits } from "../engine/limits.ts";
import { readPaused, writePaused } from "../engine/pause.ts";
import { heldWakeProblems, wakeRateHeld } from "../engine/rate-held.ts";
import { redisNowMs } from "../redis/clock.ts";
import { onNodeOf } from "../redis/cluster.ts";
import { readLimitsView } from "./limits.ts";
import type { LimitsView } from "./limits-view.ts";
import type { QueueShards } from "./queue-shards.ts";

/** Pauses (`paused` true) or resumes the queue; false when it was so already. */
export function setPaused(s: QueueShards, paused: boolean): Promise<boolean> {
  return writePaused(s.client, s.prefix, s.queue, paused);
}

/** Whether the queue is paused (one HGET). */
export function isPaused(s: QueueShards): Promise<boolean> {
  return readPaused(s.client, s.prefix, s.queue);
}

/** The queue's rate limits (docs/internals.md, "Rate limits"; one HMGET). */
export function limitsOf(s: QueueShards): Promise<Limits> {
  return readLimits(s.client, s.prefix, s.queue);
}

/**
 * Changes the queue's rate limits: a value sets one, null removes it, absent leaves it. `tell`
 * hears what the wake of held jobs found wrong and settled (heldWakeProblems: one line each).
 */
export async function setLimits(
  s: QueueShards,
  change: LimitsChange,
  tell: (line: string) => void = () => {},
): Promise<Limits> {
  const { prefix, queue } = s;
  const limits = await writeLimits(s.client, prefix, queue, change);
  // Jobs held back by the old key rate would come back on its schedule: woken now.
  if (change.keyRate !== undefined) {
    const woke = await wakeRateHeld(s.client, limitKeys(prefix, queue), await s.shards());
    for (const line of heldWakeProblems(woke)) tell(line);
  }
  // Jobs waiting for a running slot of their key wait for a run's end: a key concurrency
  // raised or removed frees slots no run's end announces, so its waiters are woken now.
  if (change.keyConcurrency !== undefined) {
    const unreadable = (problem: string, kind: LimitProblemKind) =>
      tell(kind === "unreadable" ? `limit key unreadable: ${problem}` : problem);
    const lk = limitKeys(prefix, queue);
    await wakeKeyWaiters(s.client, lk, await s.shards(), unreadable);
  }
  return limits;
}

/** Holds limit key `key` for `holdMs`; returns the hold's end (Redis' ms). */
export function holdLimitKey(s: QueueShards, key: string, holdMs: number): Promise<number> {
  return holdKey(s.client, limitKeys(s.prefix, s.queue), key, holdMs);
}

/** The limit keys held back now, latest next slot first, with their running counts. */
export async function heldKeys(s: QueueShards, count: number): Promise<HeldKey[]> {
  const lk = limitKeys(s.prefix, s.queue);
  const now = await redisNowMs(onNodeOf(s.client, lk.layout));
  return readHeldKeys(s.client, lk, now, count);
}

/** The queue's rate limits and its held keys, as info, /metrics and the dashboard show them. */
export async function limitsView(s: QueueShards, keys: QueueKeys): Promise<LimitsView> {
  // The limiter's keys are under the queue's own tag: read by that node's clock.
  return readLimitsView(s.client, s.prefix, s.queue, await s.nowOf(keys));
}

/**
 * Removes every waiting, delayed and parked job, shard by shard; returns how many went. A
 * removed job other jobs wait for ends canceled, its outcome kept `failureTtlS`. A removed job
 * with a limit key leaves its key's waiting list (freeAndWake: a gone waiter), so a free wakes
 * a job still there rather than it, in vain, and the waiters after it their fallback.
 */
export async function emptyQueue(s: QueueShards, failureTtlS: number): Promise<Emptied> {
  // Every level's waiting work (a queue without levels has no such keys: nothing to remove).
  const levels = (keys: QueueKeys) => LEVELS.map((l) => levelKeys(keys, l));
  const lk = limitKeys(s.prefix, s.queue);
  const shards = await s.shards();
  const leave = (shard: number) => async (keyed: EmptiedKeyed[]) => {
    const gone = keyed.map((j) => ({ shard, jobId: j.jobId, limitKey: j.limitKey }));
    await freeAndWake(s.client, lk, (n) => shards[n], { gone });
  };
  const each = (keys: QueueKeys) =>
    Promise.all(
      levels(keys).map((k) => emptyShard(s.client, k, failureTtlS, undefined, leave(keys.shard))),
    );
  const parts = (await s.each(each)).flat();
  const sum = (k: keyof Emptied) => parts.reduce((n, p) => n + p[k], 0);
  return { waiting: sum("waiting"), delayed: sum("delayed"), parked: sum("parked") };
}
