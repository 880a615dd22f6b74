// Writes that count as done only once a replica has them (durability "replicated",
// docs/cluster.md "Durability"). WAIT counts the writes of ITS OWN connection, so the script
// call and the WAIT after it go on one connection: the one to the master of the shard's slot
// (connectionOf), sent one after the other without waiting (pipelined). Never node-redis' own
// cluster WAIT: it goes to every master and answers their minimum (research/cluster.md §2.3).
// On one server the same code runs on the plain client, its one connection.
import { connectionOf, isCluster } from "./cluster.ts";
import type { Redis } from "./connect.ts";

/**
 * Tries of a write whose node answered MOVED (the slot has another master now), each after a
 * refresh. ASK (a slot being migrated) is not followed: the direct connection cannot send
 * ASKING; the error is thrown.
 */
const REDIRECTS = 3;

export interface Replicated<T> {
  value: T;
  /**
   * Replicas that acknowledged the write within the wait (WAIT's reply): 0 = not confirmed (none
   * in time, or the WAIT's connection was lost after the write).
   */
  replicas: number;
}

/**
 * Runs `write` on the connection to the master of `key`'s slot, then `WAIT 1 timeoutMs` on the
 * same connection, pipelined. `write` must send its commands through the connection it is
 * given. A command it sends after the WAIT (a script's NOSCRIPT → EVAL fallback, on a promoted
 * replica whose cache is empty) is covered by a second WAIT.
 */
export async function writeReplicated<T>(
  client: Redis,
  key: string,
  timeoutMs: number,
  write: (connection: Redis) => Promise<T>,
): Promise<Replicated<T>> {
  for (let tries = 1; ; tries++) {
    const connection = new Ordered(await connectionOf(client, key));
    const value = write(connection);
    const waited = connection.wait(timeoutMs);
    waited.catch(() => {}); // awaited below unless the write failed: its error is the one told
    try {
      const v = await value;
      // The write is done: a WAIT lost with its connection only leaves it unconfirmed.
      let replicas = await waited.catch(() => 0);
      if (connection.sentAfterWait) replicas = await connection.wait(timeoutMs);
      return { value: v, replicas };
    } catch (err) {
      if (!isRedirect(err) || !isCluster(client) || tries >= REDIRECTS) throw err;
      // Sent the routed way, node-redis follows the MOVED and learns the new layout, so the
      // next connectionOf is the slot's master now. A read: nothing is written twice.
      await client.sendCommand(["EXISTS", key]);
    }
  }
}

function isRedirect(err: unknown): boolean {
  return /^MOVED /.test(String((err as Error)?.message));
}

/** A connection that knows whether a command went out after its last WAIT. */
class Ordered implements Redis {
  #waiting = false;
  sentAfterWait = false;

  constructor(private readonly inner: Redis) {}

  wait(timeoutMs: number): Promise<number> {
    this.#waiting = true;
    this.sentAfterWait = false;
    return this.inner.sendCommand(["WAIT", "1", String(timeoutMs)]).then(Number);
  }

  sendCommand<T = unknown>(args: readonly string[]): Promise<T> {
    if (this.#waiting) this.sentAfterWait = true;
    return this.inner.sendCommand<T>(args);
  }

  get isReady(): boolean {
    return this.inner.isReady;
  }

  // biome-ignore lint/suspicious/noExplicitAny: as Redis.on
  on(event: "error" | "ready" | "connect" | "end", listener: (...args: any[]) => void): this {
    this.inner.on(event, listener);
    return this;
  }

  connect(): Promise<unknown> {
    return this.inner.connect();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  destroy(): void {
    this.inner.destroy();
  }
}
