// Talking to each node of a local Redis Cluster on its own (not through a cluster client, which
// would hide which node answered), and reading what the harness waits on: CLUSTER INFO,
// INFO replication and CLUSTER NODES.
import { createClient, ErrorReply } from "redis";
import { within } from "../time.ts";

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

/** `key:value` lines of CLUSTER INFO or INFO. */
export function infoFields(text: string | null): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text?.split("\r\n") ?? []) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

export interface NodeEntry {
  id: string;
  port: number;
  flags: string[];
  /** The id of the master it replicates, or "-" for a master. */
  masterId: string;
  /** Slot ranges it serves, inclusive. */
  slots: [number, number][];
}

/** Lines of CLUSTER NODES: `<id> <ip:port@cport[,hostname]> <flags> <master> … <slot ranges>`. */
export function parseNodes(text: string): NodeEntry[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [id = "", address = "", flags = "", masterId = "", ...rest] = line.trim().split(" ");
      const port = Number(/:(\d+)@/.exec(address)?.[1]);
      // rest: ping-sent pong-recv epoch link-state, then slots; `[…]` are slots being migrated.
      const slots = rest
        .slice(4)
        .filter((s) => !s.startsWith("["))
        .map((s) => s.split("-").map(Number))
        .map(([from = 0, to = from]): [number, number] => [from, to]);
      return { id, port, flags: flags.split(","), masterId, slots };
    });
}

/** What keeps one node from being ready, or null: the readiness test of issue 12. */
export async function nodeProblem(
  links: NodeLinks,
  port: number,
  knownNodes: number,
): Promise<{ problem: string | null; role: string | undefined }> {
  const [cluster, replication] = await Promise.all([
    links.text(port, ["CLUSTER", "INFO"]),
    links.text(port, ["INFO", "replication"]),
  ]);
  const info = infoFields(cluster);
  const repl = infoFields(replication);
  const role = repl.get("role");
  const at = `127.0.0.1:${port}`;
  let problem: string | null = null;
  if (cluster === null || replication === null) problem = `${at} does not answer`;
  else if (info.get("cluster_state") !== "ok") {
    problem = `${at} cluster_state:${info.get("cluster_state")}`;
  } else if (info.get("cluster_slots_ok") !== "16384") {
    problem = `${at} cluster_slots_ok:${info.get("cluster_slots_ok")}`;
  } else if (info.get("cluster_known_nodes") !== String(knownNodes)) {
    problem = `${at} cluster_known_nodes:${info.get("cluster_known_nodes")} (want ${knownNodes})`;
  } else if (role === "slave" && repl.get("master_link_status") !== "up") {
    problem = `${at} master_link_status:${repl.get("master_link_status")}`;
  }
  return { problem, role };
}

/**
 * What keeps the cluster from being ready, or null: every node reports cluster_state:ok, all
 * 16384 slots ok and every node known; every replica's link to its master is up, and there are
 * `replicas` of them. cluster_state:ok alone is not enough: a replica that has not finished its
 * first sync cannot take over.
 */
export async function clusterProblem(
  links: NodeLinks,
  ports: readonly number[],
  replicas: number,
): Promise<string | null> {
  const nodes = await Promise.all(ports.map((p) => nodeProblem(links, p, ports.length)));
  const problems = nodes.flatMap((n) => (n.problem ? [n.problem] : []));
  const seen = nodes.filter((n) => n.role === "slave").length;
  if (problems.length === 0 && seen !== replicas) {
    problems.push(`${seen} replicas (want ${replicas})`);
  }
  return problems.length ? problems.slice(0, 3).join("; ") : null;
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
