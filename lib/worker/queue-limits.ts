// One queue's rate limits as a worker sees them (docs/internals.md, "Rate limits"), shared by
// the queue's shards and levels: the zero-cost test of whether a job must ask the limiter at
// all, a key hold made from this worker, and the slots its ended jobs free (limit-done.lua),
// batched per tick, with the waiting jobs that frees woken back into their streams. The
// per-shard side, which asks for slots and starts jobs at them, is lib/worker/limited.ts.
import { holdKey } from "../engine/hold-key.ts";
import { freeAndWake } from "../engine/key-wake.ts";
import type { LimitKeys, QueueKeys } from "../engine/keys.ts";
import type { LimitEnded, LimitProblemKind, Woken } from "../engine/limit.ts";
import type { Limits } from "../engine/limits.ts";
import { type Logger, throttled } from "../log.ts";
import { describeCause, isTransient } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import type { Startable } from "./entries.ts";
import { corruptTeller } from "./limit-corrupt.ts";

/** A hold made this long ago (by this host's clock) may still be on (Redis' clock may differ). */
const HOLD_SKEW_MS = 10 * 60_000;

/**
 * How soon a free that failed on the connection (lost a moment, being replaced) is tried again:
 * dropped, its key's next waiter waited for the slot's expiry (the job's time limit + 6 s,
 * minutes) though Redis was back within a second. Trying again is safe: limit-done.lua frees a
 * run's own member only, and limit.lua still bounds the starts of a waiter woken twice.
 */
export const FREE_RETRY_MS = 1_000;

/** One queue's limits as a worker sees them, shared by the queue's shards and levels. */
export class QueueLimits {
  #ended: LimitEnded[] = [];
  #gone: Woken[] = [];
  #failed: (fields: Record<string, unknown>) => void;
  /** What each shard's gate does when the settings change (limited.ts: asks again now). */
  #onChanged: (() => void)[] = [];
  /** Frees under way (#flush: each settles, never rejects). */
  #flushes = new Set<Promise<void>>();
  /** Limit keys of frees that failed on the connection: their woken waiters are woken again. */
  #again = new Set<string>();
  /** The next try of frees that failed on the connection (FREE_RETRY_MS), if any. */
  #retry: ReturnType<typeof setTimeout> | null = null;
  /** A stop waits for the frees (settled): one that fails then is not tried again. */
  #stopping = false;
  /**
   * Tells the log, once per key, of a limit key whose own keys hold another type (`<key> holds
   * a <type>, not a <type>`: its jobs held by limit.lua, its slots left to free themselves), or
   * of a waiting list's members that named no job, dropped (kind `dropped`).
   */
  readonly corrupt: (problem: string, kind?: LimitProblemKind) => void;

  constructor(
    readonly lk: LimitKeys,
    /** The settings and the latest hold's end, polled with the pause (lib/worker/pause.ts). */
    private readonly watch: { limits: Limits; holdsUntil: number },
    /** The normal keys of shard s (woken jobs are moved there). */
    private readonly shardKeys: (shard: number) => QueueKeys | undefined,
    private readonly client: () => Redis,
    log: Logger,
  ) {
    this.#failed = throttled(log, "could not free rate-limit slots (they free themselves later)");
    this.corrupt = corruptTeller(log);
  }

  get limits(): Limits {
    return this.watch.limits;
  }

  /**
   * Whether any job may have to ask the limiter now (`applies` may be true for some job): the
   * queue has limits, or a key hold was made lately. Prefetch holds none then: a job the
   * limiter starts does not wait for a slot (lib/worker/limited.ts).
   */
  mayApply(): boolean {
    const l = this.watch.limits;
    if (l.rate !== null || l.keyConcurrency !== null || l.keyRate !== null) return true;
    return this.watch.holdsUntil > Date.now() - HOLD_SKEW_MS;
  }

  /** Calls `fn` whenever this worker sees the settings change (polled with the pause). */
  onChanged(fn: () => void): void {
    this.#onChanged.push(fn);
  }

  /** The settings changed (lib/worker/pause.ts saw it). */
  changed(): void {
    for (const fn of this.#onChanged) fn();
  }

  /** Whether `job` must ask the limiter: the zero-cost test made per job. */
  applies(job: Startable): boolean {
    const l = this.watch.limits;
    if (l.rate !== null) return true;
    if (job.limitKey === undefined) return false;
    if (l.keyConcurrency !== null || l.keyRate !== null) return true;
    return this.watch.holdsUntil > Date.now() - HOLD_SKEW_MS;
  }

  /**
   * Holds limit key `key` for `holdMs` (a host's Retry-After: lib/engine/hold-key.ts); this
   * worker checks the key's jobs at once, the others within pauseCheckMs. Returns the end.
   */
  async holdKey(key: string, holdMs: number): Promise<number> {
    const end = await holdKey(this.client(), this.lk, key, holdMs);
    this.watch.holdsUntil = Math.max(this.watch.holdsUntil, end);
    return end;
  }

  /** A job that held a running slot of its key ended: freed with others of the same tick. */
  ended(e: LimitEnded): void {
    this.#ended.push(e);
    this.#soon();
  }

  /**
   * A job waiting for a running slot of its key ended, or is no longer this worker's (its hold
   * found it so): it leaves the waiting list, and the next waiter is woken in its place.
   */
  gone(w: Woken): void {
    this.#gone.push(w);
    this.#soon();
  }

  #soon(): void {
    if (this.#ended.length + this.#gone.length !== 1 || this.#retry) return;
    this.#flushNow();
  }

  #flushNow(): void {
    const flush = new Promise<void>((resolve) => queueMicrotask(() => this.#flush().then(resolve)));
    this.#flushes.add(flush);
    void flush.then(() => this.#flushes.delete(flush));
  }

  /**
   * Resolves once the frees asked for so far are made (or failed): a stop waits for them before
   * it closes the connection they go through, else the next waiter's wake is lost (it waits for
   * its fallback, the first running slot's expiry, and runs out of order).
   */
  async settled(): Promise<void> {
    this.#stopping = true;
    if (this.#retry) {
      clearTimeout(this.#retry);
      this.#retry = null;
      this.#flushNow();
    }
    while (this.#flushes.size > 0) await Promise.all([...this.#flushes]);
  }

  async #flush(): Promise<void> {
    const ended = this.#ended.splice(0);
    const gone = this.#gone.splice(0);
    const again = [...this.#again];
    this.#again.clear();
    const freed = { ended, gone, again };
    try {
      await freeAndWake(this.client(), this.lk, this.shardKeys, freed, this.corrupt);
    } catch (err) {
      this.#failed({ error: describeCause(err), jobs: ended.length + gone.length });
      // A refusal (a key of another type) would be refused again: its waiters come back at
      // their fallback time, and a slot frees itself at its expiry. A lost connection is not.
      if (isTransient(err) && !this.#stopping) this.#tryAgain(freed);
    }
  }

  /**
   * Puts frees that failed back, first, and tries them again (with any made meanwhile) soon.
   * Whether the call ran is unknown (a reply lost): the waiters it may have woken, unmoved, are
   * woken again (`again`), else they would wait for their fallback, the waiters behind first.
   */
  #tryAgain(freed: { ended: LimitEnded[]; gone: Woken[]; again: string[] }): void {
    // concat, not unshift(...): frees held through a long outage may be too many to spread.
    this.#ended = freed.ended.concat(this.#ended);
    this.#gone = freed.gone.concat(this.#gone);
    for (const x of [...freed.ended, ...freed.gone]) this.#again.add(x.limitKey);
    for (const key of freed.again) this.#again.add(key);
    if (this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#flushNow();
    }, FREE_RETRY_MS);
  }
}
