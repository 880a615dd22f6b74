// Talking to each node of a local Redis Cluster on its own (not through a cluster client, which
// would hide which node answered): joining fresh nodes, asking each whether it is ready.

import { createClient, ErrorReply } from "@redis/client";
import { within } from "../time.ts";
import {
  clusterReadiness,
  type NodeReadiness,
  nodeReadiness,
  parseNodes,
} from "./_cluster-parse.ts";

type NodeClient = ReturnType<typeof createNodeClient>;

function createNodeClient(port: number) {
  return createClient({
    RESP: 2,
    // No reconnecting and no offline queue: a killed node must fail a call at once, and the
    // next call opens a fresh connection to whatever listens there then.
    socket: { host: "127.0.0.1", port, connectTimeout: 1_000, reconnectStrategy: false },
    disableOfflineQueue: true,
  });
}

/** One client per node port, opened on first use and dropped when its node stops answering. */
export class NodeLinks {
  readonly #clients = new Map<number, Promise<NodeClient>>();

  /** `callTimeoutMs` bounds each call: a stopped (SIGSTOP) node must not hang a wait. */
  constructor(readonly callTimeoutMs = 1_000) {}

  /** The reply of one command; throws a one-line error naming the node. */
  async send(port: number, args: readonly string[]): Promise<unknown> {
    let reply: unknown;
    try {
      const client = await this.#client(port);
      const pending = client.sendCommand([...args]).then((r) => {
        reply = r;
      });
      if (!(await within(pending, this.callTimeoutMs))) {
        pending.catch(() => {});
        throw new Error(`no reply within ${this.callTimeoutMs} ms`);
      }
      return reply;
    } catch (err) {
      // A refusal (ERR Unknown node) leaves the connection usable; anything else may not.
      if (!(err instanceof ErrorReply)) this.drop(port);
      throw new Error(`127.0.0.1:${port} ${args.join(" ")}: ${(err as Error).message}`);
    }
  }

  /** The reply as text, or null when the node does not answer (or refuses); never throws. */
  async text(port: number, args: readonly string[]): Promise<string | null> {
    const reply = await this.send(port, args).catch(() => null);
    return typeof reply === "string" ? reply : null;
  }

  /** Forgets the node's connection (after it was killed). */
  drop(port: number): void {
    const client = this.#clients.get(port);
    if (client) this.#forget(port, client);
  }

  close(): void {
    for (const port of [...this.#clients.keys()]) this.drop(port);
  }

  #forget(port: number, client: Promise<NodeClient>): void {
    // Only this very connection: a newer one to the same port may have replaced it already.
    if (this.#clients.get(port) === client) this.#clients.delete(port);
    client.then((c) => c.destroy()).catch(() => {});
  }

  #client(port: number): Promise<NodeClient> {
    const known = this.#clients.get(port);
    if (known) return known;
    const c = createNodeClient(port);
    const client = c.connect();
    const forget = () => this.#forget(port, client);
    c.on("error", forget); // the failing call reports it
    c.on("end", forget);
    client.catch(forget);
    this.#clients.set(port, client);
    return client;
  }
}

/** One node's readiness (nodeReadiness), asked of the node. */
export async function nodeProblem(
  links: NodeLinks,
  port: number,
  knownNodes: number,
): Promise<NodeReadiness> {
  const [cluster, replication] = await Promise.all([
    links.text(port, ["CLUSTER", "INFO"]),
    links.text(port, ["INFO", "replication"]),
  ]);
  return nodeReadiness(`127.0.0.1:${port}`, cluster, replication, knownNodes);
}

/** What keeps the cluster of these nodes from being ready (clusterReadiness), or null. */
export async function clusterProblem(
  links: NodeLinks,
  ports: readonly number[],
  replicas: number,
): Promise<string | null> {
  const nodes = await Promise.all(ports.map((p) => nodeProblem(links, p, ports.length)));
  return clusterReadiness(nodes, replicas);
}

/**
 * What the failover to `replica` still waits for, or null once done: the replica reports
 * role:master, and every running node (`ports`) reports cluster_state:ok and lists it as a
 * master, so a client asking any of them is sent to it.
 */
export async function failoverProblem(
  links: NodeLinks,
  ports: readonly number[],
  replica: { id: string; port: number },
): Promise<string | null> {
  const role = await links.send(replica.port, ["ROLE"]).catch(() => null);
  if (!Array.isArray(role) || role[0] !== "master") {
    return `replica 127.0.0.1:${replica.port} not yet master`;
  }
  for (const port of ports) {
    const [info, nodes] = await Promise.all([
      links.text(port, ["CLUSTER", "INFO"]),
      links.text(port, ["CLUSTER", "NODES"]),
    ]);
    if (!info?.includes("cluster_state:ok")) return `127.0.0.1:${port} cluster_state not ok`;
    const promoted = parseNodes(nodes ?? "").find((n) => n.id === replica.id);
    if (!promoted?.flags.includes("master")) {
      return `127.0.0.1:${port} does not see 127.0.0.1:${replica.port} as master yet`;
    }
  }
  return null;
}

const SLOTS = 16_384;

/**
 * Joins fresh nodes by hand rather than with `redis-cli --cluster create`, which sleeps in 1 s
 * steps: slot ranges to the first `masters` nodes, distinct config epochs (no collisions to
 * resolve), one MEET per node (with its bus port: not the default port + 10 000), then each
 * replica REPLICATEs its master once gossip has brought it the master's id. `wait` polls a
 * check until it returns null.
 */
export async function joinCluster(
  links: NodeLinks,
  nodes: readonly { port: number; busPort: number }[],
  masters: number,
  wait: (check: () => Promise<string | null>) => Promise<void>,
): Promise<void> {
  const send = (port: number, args: (string | number)[]) => links.send(port, args.map(String));
  const ports = nodes.map((n) => n.port);
  await Promise.all(
    ports.slice(0, masters).map((port, i) => {
      const from = Math.floor((i * SLOTS) / masters);
      const to = Math.floor(((i + 1) * SLOTS) / masters) - 1;
      return send(port, ["CLUSTER", "ADDSLOTSRANGE", from, to]);
    }),
  );
  await Promise.all(ports.map((port, i) => send(port, ["CLUSTER", "SET-CONFIG-EPOCH", i + 1])));
  const [first, ...others] = nodes;
  await Promise.all(
    others.map((n) => send(first!.port, ["CLUSTER", "MEET", "127.0.0.1", n.port, n.busPort])),
  );
  const ids = await Promise.all(ports.slice(0, masters).map((p) => send(p, ["CLUSTER", "MYID"])));
  await Promise.all(
    ports.slice(masters).map((port, i) =>
      wait(() =>
        send(port, ["CLUSTER", "REPLICATE", String(ids[i])]).then(
          () => null,
          (err: Error) => err.message, // "Unknown node" until gossip brings the master's id
        ),
      ),
    ),
  );
}

/** Calls `check` every 10 ms until it returns null; throws `fail(last problem)` after `timeoutMs`. */
export async function until(
  check: () => Promise<string | null>,
  timeoutMs: number,
  fail: (problem: string) => Error,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const problem = await check();
    if (problem === null) return;
    if (performance.now() > deadline) throw fail(problem);
    await Bun.sleep(10);
  }
}
