// A Redis Cluster as one `Redis` (connect.ts): node-redis' createCluster (RESP 2) under it, each
// raw command routed by its key (route.ts) to the master of the key's slot, MOVED and ASK
// followed by node-redis. Commands naming no key (TIME, INFO, CONFIG, WAIT, MULTI, …) go to ONE
// node, the master of a default key's slot, never to every master: node-redis' own
// sendCommand applies command policies and would send WAIT or PING to all of them and return
// their minimum. The free functions work on a plain client too, so callers need no branch.
import { EventEmitter } from "node:events";
import { createCluster } from "redis";
import { exponentialMs } from "../time.ts";
import type { Redis } from "./connect.ts";
import { commandKey, isBlocking } from "./route.ts";
import { parseClusterUrl } from "./url.ts";

/** A connection to one node, as node-redis' cluster hands it out. */
interface NodeClient {
  sendCommand(args: readonly string[], options?: unknown): Promise<unknown>;
  readonly isReady: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: node-redis' events carry various arguments
  on(event: string, listener: (...args: any[]) => void): unknown;
  destroy(): void;
}

/** What is used of node-redis' RedisCluster (its types are generic over modules and scripts). */
interface NodeRedisCluster {
  readonly isReady: boolean;
  readonly masters: readonly unknown[];
  readonly nodeByAddress: Map<string, { client?: NodeClient; pubSub?: { client: NodeClient } }>;
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
  /** For blocking reads: node connections opened lazily, only to the nodes read from. */
  blocking?: boolean;
  /** CLIENT SETNAME on each node connection (an ACL user without it goes unnamed). */
  name?: string;
  /** Keep trying to reach a seed until then (ms since the epoch). */
  deadline: number;
  /** Longest wait for a seed's answer while learning the layout (default 5 s). */
  seedTimeoutMs?: number;
}

/** Ask for a layout again this long after a node starts reconnecting (node-redis: 5 s). */
const TOPOLOGY_REFRESH_MS = 500;
/** The node whose slot's master takes a client's keyless commands. */
const DEFAULT_KEY = "courier";

/** The node connections of a cluster client, its life cycle and events, shared by its views. */
class Shared {
  readonly events = new EventEmitter();
  #destroyed = false;
  /** Rejects when closed or destroyed: a connect in progress gives up at once. */
  readonly #closed = Promise.withResolvers<never>();
  /** A node lost its connection since one was last ready: the next ready is a "ready" event. */
  #lost = false;
  readonly #watched = new WeakSet<NodeClient>();

  constructor(
    readonly cluster: NodeRedisCluster,
    readonly blocking: boolean,
    private readonly options: ClusterClientOptions,
  ) {
    const lost = (err: unknown) => {
      this.#lost = true;
      this.events.emit("error", err);
    };
    cluster.on("error", lost);
    cluster.on("node-error", lost);
    cluster.on("node-ready", (node: { host: string; port: number }) => {
      this.#name(node);
      if (!this.#lost) return;
      this.#lost = false;
      this.events.emit("ready");
    });
    cluster.on("node-connect", () => this.events.emit("connect"));
    cluster.on("disconnect", () => this.events.emit("end"));
  }

  get isReady(): boolean {
    return this.cluster.isReady && this.#clients().every((c) => c.isReady);
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
        const waitMs = exponentialMs(100, failures, 1_000);
        if (this.#destroyed || Date.now() + waitMs >= this.options.deadline) throw err;
        await Bun.sleep(waitMs);
      }
    }
    this.#lost = false;
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
   * belongs to no one and keeps the process alive (connect.ts, destroy). Closed as it opens.
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
    const client = this.cluster.nodeByAddress.get(`${node.host}:${node.port}`)?.client;
    if (!name || !client) return;
    // Refused (NOPERM) or lost: the connection stays unnamed, as with one server.
    client.sendCommand(["CLIENT", "SETNAME", name]).catch(() => {});
  }
}

/** Where a view sends keyless commands (`key`, `node`), or every command (`client`). */
type Target =
  | { kind: "key"; key: string }
  | { kind: "node"; node: unknown }
  | { kind: "client"; client: NodeClient };

/** A Redis Cluster client, or a view of one that sends its keyless commands to one node. */
export class ClusterRedis implements Redis {
  /** @internal: use connect() (connect.ts), onNodeOf, mastersOf, connectionOf. */
  constructor(
    readonly shared: Shared,
    private readonly target: Target,
  ) {}

  async sendCommand<T = unknown>(args: readonly string[]): Promise<T> {
    if (!this.shared.blocking && isBlocking(args)) {
      throw new Error(
        `courier bug: blocking command ${args[0]} sent on a cluster client not opened with blocking: true (it would stall every command to its node)`,
      );
    }
    const { target } = this;
    if (target.kind === "client") return (await target.client.sendCommand(args)) as T;
    const key = commandKey(args);
    if (key === undefined) return (await (await this.#keylessNode()).sendCommand(args)) as T;
    const send = (client: NodeClient, options?: unknown) => client.sendCommand(args, options);
    return (await this.shared.cluster._execute({ firstKey: key }, false, undefined, send)) as T;
  }

  #keylessNode(): Promise<NodeClient> {
    const { target } = this;
    if (target.kind === "node") return this.shared.cluster.nodeClient(target.node);
    return this.shared.cluster.getNodeClientForKey(target.kind === "key" ? target.key : "");
  }

  get isReady(): boolean {
    return this.shared.isReady;
  }

  // biome-ignore lint/suspicious/noExplicitAny: as Redis.on
  on(event: "error" | "ready" | "connect" | "end", listener: (...args: any[]) => void): this {
    this.shared.events.on(event, listener);
    return this;
  }

  connect(): Promise<void> {
    return this.shared.connect();
  }

  close(): Promise<void> {
    return this.shared.close();
  }

  destroy(): void {
    this.shared.destroy();
  }
}

/** A cluster client for a redis+cluster:// URL (not connected yet). */
export function createClusterClient(url: string, options: ClusterClientOptions): ClusterRedis {
  const { seeds, username, password, tls } = parseClusterUrl(url);
  const cluster = createCluster({
    // A seed answers with the layout on a connection of its own, which node-redis does not
    // hand out: a seed that accepts and never answers would hold it (and the process) for
    // ever, so it times out.
    rootNodes: seeds.map((s) => ({
      socket: { ...s, socketTimeout: options.seedTimeoutMs ?? 5_000 },
    })),
    defaults: {
      username,
      password,
      socket: {
        connectTimeout: 5_000,
        reconnectStrategy: options.strategy,
        ...(tls
          ? { tls: true as const, ...(options.ca === undefined ? {} : { ca: options.ca }) }
          : {}),
      },
      disableOfflineQueue: options.failFast ?? false,
    },
    RESP: 2,
    // A blocking read holds its node's connection: its own cluster client, connected only to
    // the nodes it reads from, one connection each (docs/cluster.md).
    minimizeConnections: options.blocking ?? false,
    topologyRefreshOnReconnectionAttemptStrategy: TOPOLOGY_REFRESH_MS,
  }) as unknown as NodeRedisCluster;
  const shared = new Shared(cluster, options.blocking ?? false, options);
  return new ClusterRedis(shared, { kind: "key", key: DEFAULT_KEY });
}

export function isCluster(client: Redis): client is ClusterRedis {
  return client instanceof ClusterRedis;
}

/** `client`, sending its keyless commands (TIME, INFO, …) to the master of `key`'s slot. */
export function onNodeOf(client: Redis, key: string): Redis {
  if (!isCluster(client)) return client;
  return new ClusterRedis(client.shared, { kind: "key", key });
}

/** One Redis per master, each sending its keyless commands (SCAN, INFO) there: for fan-outs. */
export async function mastersOf(client: Redis): Promise<Redis[]> {
  if (!isCluster(client)) return [client];
  const { shared } = client;
  return shared.cluster.masters.map((node) => new ClusterRedis(shared, { kind: "node", node }));
}

/**
 * The one connection to the master of `key`'s slot, every command sent on it as it is (no
 * redirect): for MULTI … EXEC/DISCARD, and WAIT after the writes it carried.
 */
export async function connectionOf(client: Redis, key: string): Promise<Redis> {
  if (!isCluster(client)) return client;
  const node = await client.shared.cluster.getNodeClientForKey(key);
  return new ClusterRedis(client.shared, { kind: "client", client: node });
}

/**
 * WAIT on the node holding `key`'s slot, and only there: how many replicas acknowledged the
 * writes sent before it on that connection, after `timeoutMs` at most.
 */
export async function waitReplicas(
  client: Redis,
  key: string,
  replicas: number,
  timeoutMs: number,
): Promise<number> {
  const connection = await connectionOf(client, key);
  return Number(await connection.sendCommand(["WAIT", String(replicas), String(timeoutMs)]));
}
