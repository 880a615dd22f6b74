// A worker's connection that can be replaced. node-redis reconnects by itself when a socket
// closes, but not when it stalls (see watchdog.ts); then the stalled client is destroyed and
// a fresh one opened. Calls made meanwhile fail fast and are retried by their owners.
import { defaults, type WorkerOptions } from "../config.ts";
import { exponentialMs, pause } from "../time.ts";
import { closeClient, destroy } from "./close.ts";
import { onNodeOf, scopeEvents } from "./cluster.ts";
import { type ConnectOptions, connect, type Redis } from "./connect.ts";

export class Link {
  #client: Redis;
  /** What callers get: the client, or a view of it whose keyless commands go to #home's node. */
  #view: Redis;
  #home: string | null = null;
  #replacing = false;
  /** Aborted by close() and destroy(): a reconnect under way is given up, its connect too. */
  readonly #closing = new AbortController();

  get #closed(): boolean {
    return this.#closing.signal.aborted;
  }

  /**
   * Connects a worker's connection: reconnecting for ever, each attempt time-limited.
   * `blocking` for the one that reads with BLOCK (ConnectOptions.blocking).
   */
  static async open(
    o: Pick<WorkerOptions, "redisUrl" | "reconnectMaxMs" | "commandTimeoutMs">,
    name: string,
    onError: (message: string) => void,
    onReady?: () => void,
    blocking = false,
    home?: string,
  ): Promise<Link> {
    const options = {
      persistent: true,
      watched: true,
      blocking,
      home,
      reconnectMaxMs: o.reconnectMaxMs,
      // Connecting gives up as every command's does (README): the connect bound, or the command
      // bound when that is shorter; never the longer command bound (10 s) alone.
      timeoutMs: Math.min(o.commandTimeoutMs, defaults.connectTimeoutMs),
      onError,
      onReady,
      name,
    };
    return new Link(await connect(o.redisUrl, options), o.redisUrl, options);
  }

  /** A private field, not a property: printed (console.log of a Worker), it would show the password. */
  readonly #url: string;

  constructor(
    client: Redis,
    url: string,
    private readonly options: ConnectOptions & { timeoutMs: number; reconnectMaxMs: number },
  ) {
    this.#url = url;
    this.#client = client;
    this.#view = client;
  }

  /** The current client: read it at each call, never keep it. */
  get client(): Redis {
    return this.#view;
  }

  /**
   * Sends this link's commands without a key (INFO memory, TIME, PING) to the node holding
   * `key`: on a Redis Cluster, a worker's shard reads its own node's memory and clock, and
   * hears (lost, back) only of that node: another master's failover is not its outage.
   */
  homeAt(key: string): void {
    this.#home = key;
    this.#view = onNodeOf(this.#client, key);
    scopeEvents(this.#client, key);
  }

  /** Drops the current client and connects a new one in the background (once at a time). */
  replace(): void {
    if (this.#replacing || this.#closed) return;
    this.#replacing = true;
    destroy(this.#client);
    void this.#reconnect().finally(() => {
      this.#replacing = false;
    });
  }

  /**
   * Connects the replacement, trying again until it is connected or the link closed. Closing
   * aborts it: the connect under way is destroyed (no socket left to keep the process alive),
   * the back-off ends, and onReady is not told of a connection no one will use.
   */
  async #reconnect(): Promise<void> {
    const signal = this.#closing.signal;
    for (let failures = 0; !this.#closed; failures++) {
      try {
        const fresh = await connect(this.#url, { ...this.options, persistent: true, signal });
        if (this.#closed) {
          destroy(fresh);
          return;
        }
        this.#client = fresh;
        this.#view = fresh;
        if (this.#home !== null) this.homeAt(this.#home);
        this.options.onReady?.();
        return;
      } catch {
        await pause(exponentialMs(100, failures, this.options.reconnectMaxMs), signal);
      }
    }
  }

  /** Closes the client (replies still pending are awaited, `waitMs` at most). */
  async close(waitMs = 5_000): Promise<void> {
    this.#closing.abort();
    await closeClient(this.#client, waitMs);
  }

  destroy(): void {
    this.#closing.abort();
    destroy(this.#client);
  }
}
