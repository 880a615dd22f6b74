// The connections a Queue's waits block on: a blocking read holds its connection, so each wait
// running at once (and each shard of a wait: lib/queue/shards.ts) gets one of its own, kept
// afterwards for the next wait, and closed once it has been idle WAITER_IDLE_MS: a burst of
// waits at once must not hold that many connections for the Queue's whole life.

import { WAITER_IDLE_MS } from "../config.ts";
import { isRetryableConnect } from "../redis/cause.ts";
import { closeClient, destroy } from "../redis/close.ts";
import type { Redis } from "../redis/connect.ts";
import { exponentialMs, pause } from "../time.ts";

/**
 * How a wait opens its connection while Redis is away: tried again until `deadline` (ms, this
 * host's clock), each failure told to `onError`, as the wait's own failed reads are; `gaveUp`
 * answers the wait when the time runs out (or `signal` aborts) before a connection opened.
 */
export interface OpenRetry<T> {
  deadline: number;
  signal: AbortSignal;
  onError?: (err: unknown) => void;
  gaveUp: () => T | Promise<T>;
}

/**
 * The longest the one look a wait makes once its time ran out before its connection opened may
 * take (ms): a Redis that hangs holds the queue's own connection too, and the wait's time bounds
 * the call (its jobs are then answered pending).
 */
export const LAST_LOOK_MS = 250;

export class Waiters {
  /** All of them, and those not in use right now (the last used last), each with its timer. */
  #all = new Set<Redis>();
  #idle: Redis[] = [];
  #retiring = new Map<Redis, ReturnType<typeof setTimeout>>();
  /** Opens a connection, given up by `until` (ms, this host's clock) when given. */
  readonly #open: (until?: number) => Promise<Redis>;
  /** How long a connection stays idle before it is closed (ms). */
  readonly #idleMs: number;

  constructor(open: (until?: number) => Promise<Redis>, idleMs = WAITER_IDLE_MS) {
    this.#open = open;
    this.#idleMs = idleMs;
  }

  /** Set by close(): no connection is opened or handed out after it. */
  #closed = false;

  /**
   * Runs `wait` with a connection of its own, an idle one when there is one. The Queue calls
   * it open only; closed while the connection was opening, it throws `closed()`: kept, that
   * connection would be no one's (close() had passed), and keep the host alive.
   */
  async with<T>(
    wait: (blocking: Redis) => Promise<T>,
    closed: () => Error,
    retry?: OpenRetry<T>,
  ): Promise<T> {
    const blocking = this.#take() ?? (await this.#opened(closed, retry));
    if (blocking === null) return retry!.gaveUp();
    if (this.#closed) {
      destroy(blocking);
      throw closed();
    }
    this.#all.add(blocking);
    try {
      return await wait(blocking);
    } finally {
      // Closed meanwhile (Queue.close): not handed out again.
      if (this.#all.has(blocking)) this.#park(blocking);
    }
  }

  /** The idle connection used last (the others go on idling towards their close), if any. */
  #take(): Redis | undefined {
    const blocking = this.#idle.pop();
    if (blocking !== undefined) {
      clearTimeout(this.#retiring.get(blocking));
      this.#retiring.delete(blocking);
    }
    return blocking;
  }

  /** Kept for the next wait; closed if none takes it within idleMs (the timer keeps no host up). */
  #park(blocking: Redis): void {
    this.#idle.push(blocking);
    const timer = setTimeout(() => {
      this.#retiring.delete(blocking);
      const at = this.#idle.indexOf(blocking);
      if (at >= 0) this.#idle.splice(at, 1); // -1 would take the last one, another's
      this.#all.delete(blocking);
      void closeClient(blocking).catch(() => {});
    }, this.#idleMs);
    timer.unref?.();
    this.#retiring.set(blocking, timer);
  }

  /**
   * A new connection; with `retry`, each try is given up at its deadline (a connect that hangs
   * ends with the wait's time, not the connect limit's), and a failure to reach Redis (not a
   * refusal: a wrong password fails at once) is tried again until then or its signal, then
   * null. Closed meanwhile: `closed()`, as any wait ended by close() is answered.
   */
  async #opened<T>(closed: () => Error, retry?: OpenRetry<T>): Promise<Redis | null> {
    for (let failures = 0; ; failures++) {
      try {
        const opening = this.#open(retry?.deadline);
        if (retry === undefined) return await opening;
        // The wait's signal (its own, close()) ends it while a connect hangs, not the connect
        // limit: the connection, if it opens later, is no one's and is closed.
        const opened = await unlessAborted(opening, retry.signal);
        if (opened === null) void opening.then(destroy, () => {});
        return opened;
      } catch (err) {
        if (this.#closed) throw closed();
        if (retry === undefined || !isRetryableConnect(err)) throw err;
        const left = retry.deadline - Date.now();
        if (left <= 0 || retry.signal.aborted) return null;
        retry.onError?.(err);
        await pause(Math.min(exponentialMs(100, failures, 2_000), left), retry.signal);
        if (retry.signal.aborted) return null; // close() aborts it too: the Queue answers
      }
    }
  }

  /**
   * Closes every connection: the idle ones letting replies land, those in use at once (their
   * waits are ending: a blocking read's reply would only make close() wait for it).
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#retiring.values()) clearTimeout(timer);
    this.#retiring.clear();
    const idle = new Set(this.#idle);
    const clients = [...this.#all];
    this.#all.clear();
    this.#idle = [];
    for (const c of clients) if (!idle.has(c)) destroy(c);
    await Promise.all(clients.filter((c) => idle.has(c)).map((c) => closeClient(c)));
  }
}

/** `promise`'s value, or null as soon as `signal` aborts (its listener removed either way). */
async function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return null;
  let stop = () => {};
  const stopped = new Promise<null>((resolve) => {
    stop = () => resolve(null);
  });
  signal.addEventListener("abort", stop, { once: true });
  try {
    return await Promise.race([promise, stopped]);
  } finally {
    signal.removeEventListener("abort", stop);
  }
}
