// A real local Redis Cluster on loopback: N masters + N replicas of `redis-server
// --cluster-enabled yes`, for tests, CI (`scripts/cluster.ts`) and a cluster stack. It starts
// the nodes on free ports in one folder, joins them, waits until the cluster is ready, can kill
// a master and time its failover, and stops only the processes it started.
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError, ConnectError, WaitTimeoutError } from "../errors.ts";
import {
  clusterDefaults,
  clusterProblem,
  failoverProblem,
  joinCluster,
  NodeLinks,
  nodeServerOptions,
  until,
} from "./_cluster-nodes.ts";
import { parseNodes } from "./_cluster-parse.ts";
import { writeRecord } from "./_cluster-record.ts";
import { findFreePort, type RedisServer, startRedisServer } from "./redis-server.ts";

export interface ClusterOptions {
  /** Masters, each with one replica (default 3: a 3+3 cluster). */
  masters?: number;
  /** Folder of the nodes, one sub-folder per port; created, and removed by stop(). Default: a new one in the system's temporary folder. */
  dir?: string;
  /** cluster-node-timeout (default 1000 ms): how long a silent node takes to be failing; Redis's 15 000 makes a failover take ~21 s. */
  nodeTimeoutMs?: number;
  /** cluster-require-full-coverage (default true, Redis's). False: masters keep serving their slots while another master's slots have no node. */
  fullCoverage?: boolean;
  /** AOF on every node, fsync every second (default false: tests need no disk). */
  aof?: boolean;
  /** Bound on each wait for the cluster: join, readiness, failover (default 30 000 ms). A node's own start waits up to 10 s. */
  timeoutMs?: number;
  /** Nodes outlive this process (own session, logs in `<dir>/<port>/redis.log`): for `scripts/cluster.ts start`. Default false. */
  survive?: boolean;
}

export interface ClusterNode {
  port: number;
  /** The cluster bus port, chosen free too (Redis's default, port + 10 000, may be taken or > 65535). */
  busPort: number;
  pid: number;
}

export { clusterDefaults };

/** Two processes each, on one machine: more is likely a typo. */
export const MAX_MASTERS = 20;
const START_ATTEMPTS = 3; // a free port can be taken between finding it and binding it

/** Starts the nodes, joins them into a cluster and resolves once it is ready. */
export async function startCluster(options: ClusterOptions = {}): Promise<LocalCluster> {
  const masters = options.masters ?? clusterDefaults.masters;
  if (!Number.isInteger(masters) || masters < 1 || masters > MAX_MASTERS) {
    throw new ConfigError(
      `masters must be a whole number from 1 to ${MAX_MASTERS}, got ${masters}`,
    );
  }
  if (options.dir !== undefined && !isEmptyOrNew(options.dir)) {
    // stop() removes the whole folder: never one that holds anything else.
    throw new ConfigError(`${options.dir} is not empty: give a new or empty folder for the nodes`);
  }
  const dir = resolve(options.dir ?? mkdtempSync(join(tmpdir(), "courier-cluster-")));
  const cluster = new LocalCluster(dir, masters, options);
  try {
    await cluster.start();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

function isEmptyOrNew(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

export class LocalCluster {
  readonly dir: string;
  readonly masters: number;
  /** ms from the first spawn until the cluster was ready. */
  startMs = 0;
  readonly #options: ClusterOptions;
  readonly #timeoutMs: number;
  /** The nodes running now, by port: the processes stop() stops, and only those. */
  readonly #servers = new Map<number, RedisServer>();
  readonly #nodes: ClusterNode[] = [];
  readonly #links = new NodeLinks();

  constructor(dir: string, masters: number, options: ClusterOptions) {
    this.dir = dir;
    this.masters = masters;
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? clusterDefaults.timeoutMs;
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
    return this.#nodes.map((n) => n.port).filter((p) => this.#servers.has(p));
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
    const server = this.#running(masterPort);
    const nodes = parseNodes(String(await this.#links.send(masterPort, ["CLUSTER", "NODES"])));
    const me = nodes.find((n) => n.flags.includes("myself"));
    if (!me?.flags.includes("master")) {
      throw new ConfigError(`127.0.0.1:${masterPort} is not a master`);
    }
    const replica = nodes.find((n) => n.masterId === me.id && !n.flags.includes("fail"));
    if (!replica) throw new ConfigError(`127.0.0.1:${masterPort} has no replica to take over`);
    const began = performance.now();
    server.kill();
    await server.exited;
    this.#servers.delete(masterPort);
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
    if (index < 0 || this.#servers.has(port)) {
      throw new ConfigError(`127.0.0.1:${port} is not a stopped node of this cluster`);
    }
    const began = performance.now();
    await this.#startNode(index, this.#nodes[index]!, false);
    this.#record();
    await this.#waitReady(`restart of 127.0.0.1:${port}`);
    return Math.round(performance.now() - began);
  }

  /** Stops the nodes this object started (SIGTERM, then SIGKILL after 5 s) and removes `dir`. */
  async stop(): Promise<void> {
    this.#links.close();
    const servers = [...this.#servers.values()];
    this.#servers.clear();
    await Promise.all(servers.map((s) => s.stop(5_000)));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Starts node `index` on `node`'s ports; a first start moves to other ports if they got taken. */
  async #startNode(index: number, node: ClusterNode, firstStart = true): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const server = await startRedisServer(nodeServerOptions(this.dir, node, this.#options));
        this.#servers.set(node.port, server);
        this.#nodes[index] = { ...node, pid: server.pid };
        return;
      } catch (err) {
        if (!firstStart || attempt >= START_ATTEMPTS) throw err;
        node = await this.#freeNode();
      }
    }
  }

  /** Two free ports on 127.0.0.1 (client and bus) that no other node uses. */
  async #freeNode(): Promise<ClusterNode> {
    const taken = new Set(this.#nodes.flatMap((n) => [n.port, n.busPort]));
    const pick = async () => {
      for (;;) {
        const port = await findFreePort();
        if (taken.has(port)) continue;
        taken.add(port);
        return port;
      }
    };
    return { port: await pick(), busPort: await pick(), pid: 0 };
  }

  #waitReady(what: string): Promise<void> {
    const check = () => clusterProblem(this.#links, this.livePorts, this.masters);
    return until(check, this.#timeoutMs, (problem) => this.#timeout(what, problem));
  }

  #running(port: number): RedisServer {
    const server = this.#servers.get(port);
    if (!server) throw new ConfigError(`127.0.0.1:${port} is not a running node of this cluster`);
    return server;
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
