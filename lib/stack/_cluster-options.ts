// How a local cluster's nodes run: the options of startCluster/resumeCluster, and the
// redis-server options each node gets from them.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { kind } from "../option-keys.ts";
import { findFreePort, type RedisServerOptions } from "./redis-server.ts";

export const clusterDefaults = { masters: 3, nodeTimeoutMs: 1_000, timeoutMs: 30_000 } as const;

/** Two processes each, on one machine: more is likely a typo. */
export const MAX_MASTERS = 20;

export interface ClusterOptions {
  /** Masters, each with one replica (default 3: a 3+3 cluster). */
  masters?: number;
  /** Folder of the nodes, one sub-folder per port; created, and removed by stop() unless `keep`. Default: a new one in the system's temporary folder. */
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
  /** Nodes in their own session, so a terminal's Ctrl-C reaches only this process (which stops them last), yet stopped when it dies: for the stack. Default false. */
  detached?: boolean;
  /** stop() leaves the folder (nodes.conf, AOF, cluster.json), for resumeCluster (default false). */
  keep?: boolean;
  /** Gets each line of node `index`'s log (masters first, as `nodes`). Default: kept only for errors. */
  onLine?: (index: number, line: string) => void;
  /** Told when a node exits that stop(), kill() or destroy() did not stop; `live`: nodes still running. */
  onExit?: (port: number, code: number, live: number) => void;
}

export interface ClusterNode {
  port: number;
  /** The cluster bus port, chosen free too (Redis's default, port + 10 000, may be taken or > 65535). */
  busPort: number;
  pid: number;
}

/** How each node runs: startRedisServer's options for node `index` on `node`'s ports in `dir`. */
export function nodeServerOptions(
  dir: string,
  index: number,
  node: { port: number; busPort: number },
  options: ClusterOptions,
): RedisServerOptions {
  const dataDir = join(dir, String(node.port));
  const nodeTimeoutMs = options.nodeTimeoutMs ?? clusterDefaults.nodeTimeoutMs;
  const survive = options.survive ?? false;
  const onLine = options.onLine;
  const cluster = [
    ["--cluster-enabled", "yes"],
    ["--cluster-config-file", "nodes.conf"], // in dataDir: restart() finds its identity there
    ["--cluster-port", String(node.busPort)],
    ["--cluster-node-timeout", String(nodeTimeoutMs)],
    ["--cluster-require-full-coverage", (options.fullCoverage ?? true) ? "yes" : "no"],
    // Else a replica's first sync waits out Redis's 5 s diskless-sync delay (6.2 s to ready).
    ["--repl-diskless-sync-delay", "0"],
    // A replica with nothing yet loads its first sync from the socket, not through a file.
    ["--repl-diskless-load", "on-empty-db"],
    survive ? ["--logfile", join(dataDir, "redis.log")] : [],
  ].flat();
  return {
    port: node.port,
    dataDir,
    persistence: options.aof ?? false,
    // Own session; without the parent-death signal the nodes outlive `scripts/cluster.ts start`.
    detached: survive || (options.detached ?? false),
    stopWithParent: !survive,
    onLine: onLine && ((line) => onLine(index, line)),
    extraArgs: cluster,
  };
}

/** Two ports free on 127.0.0.1 a moment ago (client and bus), neither of them in `taken`. */
export async function freeNode(taken: readonly number[]): Promise<ClusterNode> {
  const used = new Set(taken);
  const pick = async () => {
    for (;;) {
      const port = await findFreePort();
      if (used.has(port)) continue;
      used.add(port);
      return port;
    }
  };
  return { port: await pick(), busPort: await pick(), pid: 0 };
}

/** The masters of a new cluster; ConfigError for a count out of range or a folder in use. */
export function checkNewCluster(options: ClusterOptions): number {
  const masters = options.masters ?? clusterDefaults.masters;
  if (!Number.isInteger(masters) || masters < 1 || masters > MAX_MASTERS) {
    throw new ConfigError(
      `masters must be a whole number from 1 to ${MAX_MASTERS}, got ${kind(masters)}`,
    );
  }
  const dir = options.dir;
  if (dir !== undefined && existsSync(dir) && readdirSync(dir).length > 0) {
    // stop() removes the whole folder: never one that holds anything else.
    throw new ConfigError(`${dir} is not empty: give a new or empty folder for the nodes`);
  }
  return masters;
}
