// A Redis Cluster as one `Redis` (connect.ts): node-redis' createCluster (RESP 2) under it, each
// raw command routed by its key (route.ts) to the master of the key's slot, MOVED and ASK
// followed by node-redis. Commands naming no key (TIME, INFO, CONFIG, WAIT, MULTI, …) go to ONE
// node, the master of a default key's slot, never to every master: node-redis' own
// sendCommand applies command policies and would send WAIT or PING to all of them and return
// their minimum. The free functions work on a plain client too, so callers need no branch.
import { createCluster, ErrorReply } from "@redis/client";
import { defaults } from "../config.ts";
import { ConnectError } from "../errors.ts";
import { valueWithin } from "../time.ts";
import {
  type ClusterClientOptions,
  type NodeClient,
  type NodeRedisCluster,
  Shared,
} from "./cluster-life.ts";
import type { Redis } from "./connect.ts";
import { commandKey, isBlocking } from "./route.ts";
import { keySlot } from "./slot.ts";
import { parseClusterUrl } from "./url.ts";

export type { ClusterClientOptions };

/**
 * Longest wait for the connection to a command's node: a master that went down is replaced by
 * its replica within a few seconds (node timeout + election), and the command then goes there;
 * one with no replica fails the command, naming the node (NodeDownError), instead of a wait for
 * ever. node-redis would wait on the node's reconnections for good.
 */
export const NODE_WAIT_MS = 10_000;
/** The key whose slot's master takes a client's keyless commands. */
const DEFAULT_KEY = "courier";

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
    readonly target: Target,
  ) {}

  async sendCommand<T = unknown>(args: readonly string[]): Promise<T> {
    if (!this.shared.blocking && isBlocking(args)) {
      throw new Error(
        `courier bug: blocking command ${args[0]} sent on a cluster client not opened with blocking: true (it would stall every command to its node)`,
      );
    }
    const { target } = this;
    // The answer's limit runs from when a node has the command, not while it waits for one
    // (NODE_WAIT_MS: a failover).
    const { answered } = this.shared;
    // Its error names the node the command went to (its socket), not the URL's seeds.
    const limited = (client: NodeClient, options?: unknown) => {
      const sent = client.sendCommand(args, options);
      return answered ? answered(args, sent, client.options?.socket) : sent;
    };
    if (target.kind === "client") return (await limited(target.client)) as T;
    const key = commandKey(args);
    if (key === undefined) return (await limited(await this.#keylessNode())) as T;
    await nodeFor(this.shared, key);
    return (await this.shared.cluster._execute({ firstKey: key }, false, undefined, limited)) as T;
  }

  /**
   * host:port of the node this view sends its keyless commands to (the master of its key's
   * slot, or its node), as the client's slot map says; null when that map does not say.
   */
  get address(): string | null {
    const { target } = this;
    type Addressed = { address?: string } | undefined;
    if (target.kind === "node") return (target.node as Addressed)?.address ?? null;
    if (target.kind === "client") return null;
    return this.shared.cluster._slots.slots[keySlot(target.key)]?.master.address ?? null;
  }

  async #keylessNode(): Promise<NodeClient> {
    const { target } = this;
    if (target.kind === "key") return nodeFor(this.shared, target.key);
    const { node } = target as { node: { address: string } };
    const deadline = Date.now() + NODE_WAIT_MS;
    for (;;) {
      const pending = this.shared.cluster.nodeClient(node);
      const client = await valueWithin(pending, deadline - Date.now());
      // One reconnecting would refuse the command at once ("not connected"), naming no node:
      // wait for it as nodeFor does, then say which node did not come back.
      if (client?.isReady) return client;
      if (this.shared.isDestroyed || Date.now() >= deadline) {
        throw new NodeDownError(node.address, null);
      }
      await Bun.sleep(100);
    }
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
      socket: { ...s, socketTimeout: options.seedTimeoutMs ?? defaults.connectTimeoutMs },
    })),
    defaults: {
      username,
      password,
      socket: {
        connectTimeout: defaults.connectTimeoutMs,
        reconnectStrategy: options.strategy,
        ...(tls
          ? { tls: true as const, ...(options.ca === undefined ? {} : { ca: options.ca }) }
          : {}),
      },
      disableOfflineQueue: options.failFast ?? false,
    },
    RESP: 2,
    // Node connections open as commands first need them, never all as the layout is learned:
    // node-redis would wait there for every master, so while one is down for good (full
    // coverage off) no client could connect, for queues on healthy masters too. A blocking
    // read's client thus connects only to the nodes it reads from (docs/cluster.md).
    minimizeConnections: true,
    // Asked by Shared instead (cluster-nodes.ts): also for nodes never reached, with back-off.
    topologyRefreshOnReconnectionAttemptStrategy: false,
  }) as unknown as NodeRedisCluster;
  // node-redis' policy-free send (typed, marked internal): said at once if a release drops it.
  if (typeof cluster._execute !== "function") {
    throw new Error("this node-redis has no RedisCluster._execute: Courier needs redis 6.3");
  }
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

/**
 * `client` tells (events "error", "ready") only of the node serving `key`'s slot: a worker's
 * shard, whose entries only that node's failure may have left unseen (lib/redis/link.ts).
 */
export function scopeEvents(client: Redis, key: string): void {
  if (isCluster(client)) client.shared.scope(key);
}

/**
 * A master view (mastersOf) whose node's connection failed and has not been ready since: the
 * version check and the server warnings skip it at once (cluster-nodes.ts).
 */
export function nodeIsDown(client: Redis): boolean {
  if (!isCluster(client) || client.target.kind !== "node") return false;
  return client.shared.isDown((client.target.node as { address: string }).address);
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
  const node = await nodeFor(client.shared, key);
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

/**
 * A command's master did not answer in NODE_WAIT_MS (down, and not failed over). The command
 * was not sent. A ConnectError: CLIs exit 6 with this line; workers retry as for any failure.
 */
export class NodeDownError extends ConnectError {
  constructor(address: string, slot: number | null, cause?: unknown) {
    const of = slot === null ? "" : ` (master of slot ${slot})`;
    super(`node ${address}${of} did not answer within ${NODE_WAIT_MS / 1_000} s`, { cause });
  }
}

/**
 * The connection to the master of `key`'s slot, ready, waiting (NODE_WAIT_MS at most) while
 * that master is down: nothing was sent yet, so its failure is tried again on the layout as it
 * is then, which names the promoted replica once the failover is over (cluster-nodes.ts).
 */
async function nodeFor(shared: Shared, key: string): Promise<NodeClient> {
  const { cluster } = shared;
  const slot = keySlot(key);
  // The common case, at no cost: the slot's master is connected and ready.
  const master = cluster._slots.slots[slot]?.master as { client?: NodeClient } | undefined;
  const ready = master?.client;
  if (ready?.isReady) return ready;
  const deadline = Date.now() + NODE_WAIT_MS;
  for (;;) {
    const address = cluster._slots.slots[slot]?.master.address ?? "?";
    let failure: unknown;
    const pending = cluster.getNodeClientForKey(key);
    const client = await valueWithin(pending, deadline - Date.now()).catch((err: unknown) => {
      failure = err;
      return null;
    });
    // A connection that is reconnecting would hold the command in its offline queue for good.
    if (client?.isReady) return client;
    if (failure instanceof ErrorReply || shared.isDestroyed) throw failure;
    if (Date.now() >= deadline) throw new NodeDownError(address, slot, failure);
    await Bun.sleep(100);
  }
}
