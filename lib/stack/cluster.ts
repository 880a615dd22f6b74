// A real local Redis Cluster on loopback: N masters + N replicas of `redis-server
// --cluster-enabled yes`, for tests, CI (`scripts/cluster.ts`) and a cluster stack. It starts
// the nodes on free ports in one folder, joins them, waits until the cluster is ready, can kill
// a master and time its failover, and stops only the processes it started.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError, ConnectError, WaitTimeoutError } from "../errors.ts";
import {
  clusterProblem,
  failoverProblem,
  joinCluster,
  NodeLinks,
  until,
} from "./_cluster-nodes.ts";
import {
  type ClusterNode,
  type ClusterOptions,
  checkNewCluster,
  clusterDefaults,
  freeNode,
  MAX_MASTERS,
  nodeServerOptions,
} from "./_cluster-options.ts";
import { parseNodes } from "./_cluster-parse.ts";
import { NodeProcesses } from "./_cluster-processes.ts";
import { type ClusterRecord, writeRecord } from "./_cluster-record.ts";
import { startRedisServer } from "./redis-server.ts";

export type { ClusterNode, ClusterOptions };
export { clusterDefaults, MAX_MASTERS };

const START_ATTEMPTS = 3; // a free port can be taken between finding it and binding it

/** Starts the nodes, joins them into a cluster and resolves once it is ready. */
export async function startCluster(options: ClusterOptions = {}): Promise<LocalCluster> {
  const masters = checkNewCluster(options);
  const dir = resolve(options.dir ?? mkdtempSync(join(tmpdir(), "courier-cluster-")));
  const cluster = new LocalCluster(dir, masters, options);
  try {
    await cluster.start();
  } catch (err) {
    await cluster.stop();
    // A half-made cluster is nothing to resume, and the folder was new or empty.
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return cluster;
}

/**
 * Starts again, on their recorded ports, the nodes of a cluster that ran from `dir` and was
 * stopped with `keep`: each node finds its identity (nodes.conf) and data (AOF) in its
 * folder, so the same cluster with the same data comes back. Resolves once it is ready.
 */
export async function resumeCluster(
  dir: string,
  record: ClusterRecord,
  options: ClusterOptions = {},
): Promise<LocalCluster> {
  const cluster = new LocalCluster(resolve(dir), record.masters, { ...options, dir });
  try {
    await cluster.resume(record.nodes);
  } catch (err) {
    await cluster.stop(); // its data stays: `keep` is the caller's
    throw err;
  }
  return cluster;
}

export class LocalCluster {
  readonly dir: string;
  readonly masters: number;
  /** ms from the first spawn until the cluster was ready. */
  startMs = 0;
  readonly #options: ClusterOptions;
  readonly #timeoutMs: number;
  /** The node processes it started (_cluster-processes.ts): stop() stops only those. */
  readonly #processes: NodeProcesses;
  readonly #nodes: ClusterNode[] = [];
  readonly #links = new NodeLinks();

  constructor(dir: string, masters: number, options: ClusterOptions) {
    this.dir = dir;
    this.masters = masters;
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? clusterDefaults.timeoutMs;
    // A node that exited that stop(), kill() or destroy() did not stop (they forget it first).
    this.#processes = new NodeProcesses((port, code, left) => {
      this.#links.drop(port);
      this.#options.onExit?.(port, code, left);
    });
  }

  /** Masters first, then their replicas in the same order, as started (failovers swap roles). */
  get nodes(): readonly ClusterNode[] {
    return this.#nodes.map((n) => ({ ...n }));
  }

  /** What issue 12's `--redis-url` takes: `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…`. */
  get seedUrl(): string {
    return `redis+cluster://${this.#nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`;
  }

  /** Ports of the nodes running now. */
  get livePorts(): number[] {
    return this.#nodes.map((n) => n.port).filter((p) => this.#processes.has(p));
  }

  async start(): Promise<void> {
    const began = performance.now();
    // Ports picked one after the other, so no two nodes get the same one.
    for (let i = 0; i < 2 * this.masters; i++) this.#nodes.push(await this.#freeNode());
    await Promise.all(this.#nodes.map((node, i) => this.#startNode(i, node)));
    this.#record();
    await joinCluster(this.#links, this.#nodes, this.masters, (check) =>
      until(check, this.#timeoutMs, (problem) => this.#timeout("cluster join", problem)),
    );
    await this.#waitReady("cluster");
    this.startMs = Math.round(performance.now() - began);
  }

  /** Starts recorded nodes again on their ports (resumeCluster); no joining: they know each other. */
  async resume(nodes: readonly ClusterNode[]): Promise<void> {
    const began = performance.now();
    this.#nodes.push(...nodes.map((n) => ({ port: n.port, busPort: n.busPort, pid: 0 })));
    await Promise.all(this.#nodes.map((node, i) => this.#startNode(i, node, false)));
    this.#record();
    await this.#waitReady("cluster");
    this.startMs = Math.round(performance.now() - began);
  }

  /** The slot of `key` and the port of the master serving it now. */
  async masterOf(key: string): Promise<{ slot: number; port: number }> {
    const port = this.#anyLive();
    const slot = Number(await this.#links.send(port, ["CLUSTER", "KEYSLOT", key]));
    const nodes = parseNodes(String(await this.#links.send(port, ["CLUSTER", "NODES"])));
    const owner = nodes.find((n) => n.slots.some(([from, to]) => from <= slot && slot <= to));
    if (!owner) throw new ConnectError(`no master serves slot ${slot} (of key "${key}")`);
    return { slot, port: owner.port };
  }

  /**
   * `kill -9` the master on `port`, then waits until its replica reports role:master and every
   * other running node reports cluster_state:ok and lists the replica as a master. Resolves
   * with the ms that took. One failover per fresh cluster: kills closer than ~4 × node-timeout
   * apart can leave Redis 7.0 in cluster_state:fail (docs/cluster.md).
   */
  async kill(masterPort: number): Promise<number> {
    const server = this.#processes.running(masterPort);
    const nodes = parseNodes(String(await this.#links.send(masterPort, ["CLUSTER", "NODES"])));
    const me = nodes.find((n) => n.flags.includes("myself"));
    if (!me?.flags.includes("master")) {
      throw new ConfigError(`127.0.0.1:${masterPort} is not a master`);
    }
    const replica = nodes.find((n) => n.masterId === me.id && !n.flags.includes("fail"));
    if (!replica) throw new ConfigError(`127.0.0.1:${masterPort} has no replica to take over`);
    const began = performance.now();
    this.#processes.forget(masterPort); // first: its exit is no news for onExit
    server.kill();
    await server.exited;
    this.#links.drop(masterPort);
    await until(
      () => failoverProblem(this.#links, this.livePorts, replica),
      this.#timeoutMs,
      (problem) => this.#timeout(`failover of 127.0.0.1:${masterPort}`, problem),
    );
    return Math.round(performance.now() - began);
  }

  /**
   * Starts the killed node on `port` again, in its folder, so with its identity (nodes.conf): a
   * killed master comes back as a replica of the node that took over. Resolves with the ms until
   * the cluster is ready again.
   */
  async restart(port: number): Promise<number> {
    const index = this.#nodes.findIndex((n) => n.port === port);
    if (index < 0 || this.#processes.has(port)) {
      throw new ConfigError(`127.0.0.1:${port} is not a stopped node of this cluster`);
    }
    const began = performance.now();
    await this.#startNode(index, this.#nodes[index]!, false);
    this.#record();
    await this.#waitReady(`restart of 127.0.0.1:${port}`);
    return Math.round(performance.now() - began);
  }

  /** Stops the nodes this object started (SIGTERM, then SIGKILL after 5 s) and removes `dir` (unless `keep`). */
  async stop(): Promise<void> {
    this.#links.close();
    const servers = this.#processes.takeAll();
    await Promise.all(servers.map((s) => s.stop(5_000)));
    if (!this.#options.keep) rmSync(this.dir, { recursive: true, force: true });
  }

  /** SIGKILL to every node this object started, now, even during stop() (a second Ctrl-C); leaves `dir`. */
  destroy(): void {
    this.#links.close();
    this.#processes.killAll();
  }

  /** Starts node `index` on `node`'s ports; a first start moves to other ports if they got taken. */
  async #startNode(index: number, node: ClusterNode, firstStart = true): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const server = await startRedisServer(
          nodeServerOptions(this.dir, index, node, this.#options),
        );
        this.#processes.add(node.port, server);
        this.#nodes[index] = { ...node, pid: server.pid };
        return;
      } catch (err) {
        if (!firstStart || attempt >= START_ATTEMPTS) throw err;
        node = await this.#freeNode();
      }
    }
  }

  /** Two free ports on 127.0.0.1 (client and bus) that no other node uses. */
  #freeNode(): Promise<ClusterNode> {
    return freeNode(this.#nodes.flatMap((n) => [n.port, n.busPort]));
  }

  #waitReady(what: string): Promise<void> {
    const check = () => clusterProblem(this.#links, this.livePorts, this.masters);
    return until(check, this.#timeoutMs, (problem) => this.#timeout(what, problem));
  }

  #anyLive(): number {
    const port = this.livePorts[0];
    if (port === undefined) throw new ConnectError("no node of the cluster is running");
    return port;
  }

  #timeout(what: string, problem: string): WaitTimeoutError {
    return new WaitTimeoutError(`${what} not ready within ${this.#timeoutMs} ms: ${problem}`);
  }

  #record(): void {
    writeRecord(this.dir, { seedUrl: this.seedUrl, masters: this.masters, nodes: this.nodes });
  }
}
