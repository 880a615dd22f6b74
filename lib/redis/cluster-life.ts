// The life of a Redis Cluster client (cluster.ts): its node connections (node-redis' cluster
// slots), connecting through a seed until a deadline, closing so that no socket outlives it, and
// the events Courier's code listens to (connect.ts), made from node-redis' per-node ones.

import { EventEmitter } from "node:events";
import { exponentialMs } from "../time.ts";
import type { Answered, NodeSocket } from "./answer.ts";
import { DownNodes, type Layout } from "./cluster-nodes.ts";
import { keySlot } from "./slot.ts";

/** A connection to one node, as node-redis' cluster hands it out. */
export interface NodeClient {
  sendCommand(args: readonly string[], options?: unknown): Promise<unknown>;
  readonly isReady: boolean;
  /** Its options: the socket's host and port are the node's address, as dialled. */
  readonly options?: { socket?: NodeSocket };
  // biome-ignore lint/suspicious/noExplicitAny: node-redis' events carry various arguments
  on(event: string, listener: (...args: any[]) => void): unknown;
  destroy(): void;
}

/** What is used of node-redis' RedisCluster (its types are generic over modules and scripts). */
export interface NodeRedisCluster {
  readonly isReady: boolean;
  readonly masters: readonly unknown[];
  readonly nodeByAddress: Map<string, { client?: NodeClient; pubSub?: { client: NodeClient } }>;
  /** The layout: asked again while a node is down (cluster-nodes.ts); each slot's master. */
  readonly _slots: Layout & { slots: ({ master: { address: string } } | undefined)[] };
  // biome-ignore lint/suspicious/noExplicitAny: as above
  on(event: string, listener: (...args: any[]) => void): unknown;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  nodeClient(node: unknown): Promise<NodeClient>;
  getNodeClientForKey(key: string): Promise<NodeClient>;
  /** Policy-free send to the master of `parser.firstKey`'s slot, following MOVED and ASK. */
  _execute<T>(
    parser: { firstKey: string },
    isReadonly: boolean,
    options: undefined,
    fn: (client: NodeClient, options?: unknown) => Promise<T>,
  ): Promise<T>;
}

export interface ClusterClientOptions {
  /** Reconnect strategy of every node connection (ms to the next try, or an Error to stop). */
  strategy: (retries: number) => number | Error;
  /** Commands fail at once while their node is disconnected (no offline queue). */
  failFast?: boolean;
  /** CA certificates (PEM) for rediss+cluster:// (REDIS_TLS_CA). */
  ca?: string;
  /** For blocking reads: a client that may send them (its node connections open lazily, as every client's). */
  blocking?: boolean;
  /** CLIENT SETNAME on each node connection (an ACL user without it goes unnamed). */
  name?: string;
  /** Keep trying to reach a seed until then (ms since the epoch). */
  deadline: number;
  /** Longest wait for a seed's answer while learning the layout (default 5 s). */
  seedTimeoutMs?: number;
  /** The limit on each command's answer from its node (answer.ts); none when unset. */
  answered?: Answered;
}

/** A node as node-redis' per-node events name it. */
type NodeInfo = { host: string; port: number };

const addressOf = (node: NodeInfo) => `${node.host}:${node.port}`;

/**
 * The node connections of a cluster client, its life cycle and events, shared by its views.
 * Events: "error" when a node's connection fails, "ready" once every node that failed is back
 * (ready again, or gone from the layout: a failed-over master). A client `scope`d to a key
 * (a worker's shard: lib/redis/link.ts) tells only of the node serving that key's slot, so a
 * master that fails elsewhere makes only the shards it serves look again at their entries.
 */
export class Shared {
  readonly events = new EventEmitter();
  #destroyed = false;
  #connected = false;
  /** Rejects when closed or destroyed: a connect in progress gives up at once. */
  readonly #closed = Promise.withResolvers<never>();
  /** Nodes whose loss was told ("error") and whose return was not yet ("ready"). */
  readonly #lost = new Set<string>();
  readonly #nodes: DownNodes;
  #scope: number | null = null;
  readonly #watched = new WeakSet<NodeClient>();
  /** Node connections that have been ready: one not ready now was lost (see isReady). */
  readonly #wasReady = new WeakSet<NodeClient>();

  /**
   * Printed (console.log or JSON.stringify of a Queue, Admin or Worker on a cluster), it shows
   * none of node-redis' cluster, whose options hold the Redis password.
   */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "Shared { cluster: [node-redis cluster] }";
  }

  toJSON(): Record<string, never> {
    return {};
  }

  /** The limit on each command's answer from its node (ClusterClientOptions.answered). */
  get answered(): Answered | undefined {
    return this.options.answered;
  }

  constructor(
    readonly cluster: NodeRedisCluster,
    readonly blocking: boolean,
    private readonly options: ClusterClientOptions,
  ) {
    this.#nodes = new DownNodes(
      () => cluster._slots,
      (address) => this.#back(address),
      (err) => this.#connected || this.events.emit("error", err),
    );
    // After connecting, a failed ask for the layout says nothing a node's error did not.
    cluster.on("error", (err: unknown) => this.#connected || this.events.emit("error", err));
    cluster.on("node-error", (err: unknown, node: NodeInfo) => this.#nodeError(err, node));
    cluster.on("node-ready", (node: NodeInfo) => {
      const client = this.cluster.nodeByAddress.get(addressOf(node))?.client;
      if (client) this.#wasReady.add(client);
      this.#name(node);
      this.#nodes.up(addressOf(node));
    });
    cluster.on("node-disconnect", () => this.#nodes.prune());
    cluster.on("node-connect", () => this.events.emit("connect"));
    cluster.on("disconnect", () => this.events.emit("end"));
  }

  /** The node at `address` failed and has not been ready since. */
  isDown(address: string): boolean {
    return this.#nodes.has(address);
  }

  get isDestroyed(): boolean {
    return this.#destroyed;
  }

  /** Tell only of the node serving `key`'s slot (lib/redis/link.ts, a worker's shard). */
  scope(key: string): void {
    this.#scope = keySlot(key);
  }

  #nodeError(err: unknown, node: NodeInfo): void {
    const address = addressOf(node);
    this.#nodes.down(address);
    if (!this.#connected) {
      this.events.emit("error", err); // why connecting failed
      return;
    }
    if (!this.#nodes.has(address) || !this.#counts(address)) return;
    this.#lost.add(address);
    this.events.emit("error", err);
  }

  /** A node's failure is this client's: unscoped, or it serves the scope's slot. */
  #counts(address: string): boolean {
    if (this.#scope === null) return true;
    return this.cluster._slots.slots[this.#scope]?.master.address === address;
  }

  #back(address: string): void {
    if (!this.#lost.delete(address) || this.#lost.size > 0 || this.#destroyed) return;
    this.events.emit("ready");
  }

  /**
   * Connected, and no node this client tells of is down (every node, when not scoped). A
   * node's connection opens when a command first needs it (cluster.ts): one still opening for
   * the first time is no lost connection, or a worker reading every shard would read as not
   * ready (/healthz 503) now and then for nothing.
   */
  get isReady(): boolean {
    if (!this.cluster.isReady || this.#lost.size > 0) return false;
    if (this.#scope !== null) return true;
    return this.#clients().every((c) => {
      if (c.isReady) this.#wasReady.add(c);
      return c.isReady || !this.#wasReady.has(c);
    });
  }

  /** Learns the layout from a seed, trying again until the deadline. */
  async connect(): Promise<void> {
    for (let failures = 0; ; failures++) {
      const connecting = this.cluster.connect();
      // Destroyed meanwhile: node-redis still opens the node connections it had begun.
      connecting.then(
        () => this.#destroyed && this.destroy(),
        () => {},
      );
      try {
        await Promise.race([connecting, this.#closed.promise]);
        break;
      } catch (err) {
        // Up to the deadline itself: the last wait cut to what is left, then a last try.
        const leftMs = this.options.deadline - Date.now();
        if (this.#destroyed || leftMs <= 0) throw err;
        await Bun.sleep(Math.min(exponentialMs(100, failures, 1_000), leftMs));
      }
    }
    this.#connected = true;
    this.#nodes.prune(); // seeds that failed while connecting and are no nodes of the layout
  }

  async close(): Promise<void> {
    this.#stop();
    const clients = this.#clients();
    await this.cluster.close();
    this.#watch(clients);
  }

  destroy(): void {
    this.#stop();
    const clients = this.#clients();
    try {
      this.cluster.destroy();
    } catch {
      // already closed
    }
    this.#watch(clients);
  }

  #stop(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#nodes.close();
    this.#closed.promise.catch(() => {}); // nobody may be connecting
    this.#closed.reject(new Error("closed while connecting"));
  }

  #clients(): NodeClient[] {
    const clients: NodeClient[] = [];
    for (const node of this.cluster.nodeByAddress.values()) {
      if (node.client) clients.push(node.client);
      if (node.pubSub) clients.push(node.pubSub.client);
    }
    return clients;
  }

  /**
   * node-redis finishes a reconnection it had begun after destroy(): the socket it then opens
   * belongs to no one and keeps the process alive (close.ts, destroy). Closed as it opens.
   */
  #watch(clients: NodeClient[]): void {
    for (const client of clients) {
      if (this.#watched.has(client)) continue;
      this.#watched.add(client);
      client.on("connect", () => {
        try {
          client.destroy();
        } catch {
          // already closed
        }
      });
    }
  }

  #name(node: { host: string; port: number }): void {
    const { name } = this.options;
    const client = this.cluster.nodeByAddress.get(addressOf(node))?.client;
    if (!name || !client) return;
    // Refused (NOPERM) or lost: the connection stays unnamed, as with one server.
    client.sendCommand(["CLIENT", "SETNAME", name]).catch(() => {});
  }
}
