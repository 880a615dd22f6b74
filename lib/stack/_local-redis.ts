// The Redis a stack starts and stops: one redis-server, or with `stack --cluster` a local 3+3
// Redis Cluster in the data folder. The folder keeps the cluster between stacks (each node's
// nodes.conf and AOF, and cluster.json with their ports and PIDs), so the next `stack --cluster`
// there brings the same cluster back on the same ports, with its data.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, UnavailableError, WaitTimeoutError } from "../errors.ts";
import { type ClusterRecord, processOf, readRecord, recordedStatus } from "./_cluster-record.ts";
import type { Output } from "./_output.ts";
import { type ClusterOptions, type LocalCluster, resumeCluster, startCluster } from "./cluster.ts";
import type { StackOptions } from "./options.ts";
import { listenProblem, type RedisServer } from "./redis-server.ts";

/** What the stack needs of the Redis it started: one server, or a cluster. */
export interface LocalRedis {
  readonly url: string;
  /** Environment the workers and the dashboard get on top of ours. */
  readonly env: Record<string, string>;
  /** Resolves with an exit code once it is gone on its own (a cluster: every node). */
  readonly exited: Promise<number>;
  /** The banner's words after the URL, then lines of their own. */
  describe(): Promise<string[]>;
  /** SIGTERM, saying so; resolves once it has stopped. */
  stop(say: (text: string) => void): Promise<void>;
  /** SIGKILL now (a second Ctrl-C, or a stack that failed to start). */
  kill(): void;
}

/** One redis-server (startRedisServer's), as the stack sees it. */
export function serverRedis(server: RedisServer, dataDir: string): LocalRedis {
  return {
    url: server.url,
    env: {},
    exited: server.exited,
    describe: async () => [`pid ${server.pid}, data in ${dataDir} (AOF, fsync every second)`],
    async stop(say) {
      say("SIGTERM to redis (it writes its AOF)");
      say(`redis stopped (code ${await server.stop()})`);
    },
    kill: () => server.kill(),
  };
}

/**
 * docs/cluster.md's settings: 3 masters, each with a replica; node timeout 1 s (a failover in
 * ~2.4 s, not Redis's ~21 s); without full coverage, the masters that are up keep serving while
 * one fails over; AOF as the single-server stack has.
 */
export const STACK_CLUSTER = {
  masters: 3,
  nodeTimeoutMs: 1_000,
  fullCoverage: false,
  aof: true,
} as const satisfies ClusterOptions;

/** The names the nodes' log lines are shown under: redis.1 … redis.6, masters first. */
export function clusterNodeNames(masters: number = STACK_CLUSTER.masters): string[] {
  return Array.from({ length: 2 * masters }, (_, i) => `redis.${i + 1}`);
}

/** What the workers and the dashboard of a cluster stack get in their environment. */
export function clusterChildEnv(seedUrl: string, shards: number): Record<string, string> {
  return { REDIS_URL: seedUrl, COURIER_SHARDS: String(shards) };
}

/**
 * Starts the cluster recorded in the data folder again, or a new one there when the folder is
 * new or empty, and resolves once it is ready. Refuses (exit 2) a folder whose cluster still runs.
 */
export async function startStackCluster(
  options: StackOptions,
  output: Output,
): Promise<LocalRedis> {
  const dir = options.dataDir;
  const record = resumable(dir);
  if (record) await checkRecordedPorts(record, dir);
  const say = (text: string) => output.line("system", text);
  const died = Promise.withResolvers<number>();
  const clusterOptions: ClusterOptions = {
    ...STACK_CLUSTER,
    dir,
    keep: true,
    detached: true,
    onLine: (index, line) => output.line(`redis.${index + 1}`, line),
    onExit: (port, code, live) => {
      const next = live ? "its replica takes over if it was a master" : "no node left";
      say(`redis node 127.0.0.1:${port} exited on its own (code ${code}): ${next}`);
      if (live === 0) died.resolve(code);
    },
  };
  say(
    record
      ? `starting the Redis Cluster recorded in ${dir} again, on its ports`
      : `starting a new ${STACK_CLUSTER.masters}+${STACK_CLUSTER.masters} Redis Cluster, data in ${dir}`,
  );
  const cluster = record
    ? await resumeCluster(dir, record, clusterOptions).catch((err) => {
        if (!(err instanceof WaitTimeoutError)) throw err;
        // A stack killed while it first joined the nodes leaves a cluster that never was ready.
        throw new WaitTimeoutError(
          `${err.message} (if it was never ready, e.g. a stack killed while starting it, remove ${dir} to start a new one)`,
        );
      })
    : await startCluster(clusterOptions);
  return clusterRedis(cluster, options.shards, died.promise);
}

function clusterRedis(cluster: LocalCluster, shards: number, exited: Promise<number>): LocalRedis {
  return {
    url: cluster.seedUrl,
    env: clusterChildEnv(cluster.seedUrl, shards),
    exited,
    async describe() {
      const record = { seedUrl: cluster.seedUrl, masters: cluster.masters, nodes: cluster.nodes };
      const status = await recordedStatus(record);
      const m = cluster.masters;
      return [
        `${m}+${m} Redis Cluster, ${shards} shards, data in ${cluster.dir} (AOF, fsync every second), ready in ${(cluster.startMs / 1000).toFixed(1)} s`,
        ...status.nodes.map((n) => {
          const role = n.role === "slave" ? "replica" : (n.role ?? "not answering");
          return `node 127.0.0.1:${n.port} ${role}, pid ${n.pid}`;
        }),
      ];
    },
    async stop(say) {
      // Those still running: a node that died meanwhile was said when it did.
      say(
        `SIGTERM to the ${cluster.livePorts.length} cluster nodes still running (each writes its AOF)`,
      );
      await cluster.stop();
      say(`cluster stopped, its data kept in ${cluster.dir}`);
    },
    kill: () => cluster.destroy(),
  };
}

/**
 * The record of a cluster this folder can bring back, or null when it holds none. Throws when
 * its cluster still runs (another stack's: two sets of nodes on one AOF would corrupt it), when
 * one of its ports is taken, or when a node's folder lacks its nodes.conf.
 */
function resumable(dir: string): ClusterRecord | null {
  const record = readRecord(dir);
  if (!record) return null;
  const live = record.nodes.find((n) => processOf(n.pid, n.port) === "ours");
  if (live) {
    throw new UnavailableError(
      `another Redis Cluster (pid ${live.pid}) uses ${dir}: stop that stack, or give --data-dir DIR`,
    );
  }
  for (const node of record.nodes) {
    const conf = join(dir, String(node.port), "nodes.conf");
    if (!Number.isSafeInteger(node.busPort) || !existsSync(conf)) {
      throw new ConfigError(
        `${dir} holds no cluster to start again (no ${conf}): remove it, or give --data-dir DIR`,
      );
    }
  }
  return record;
}

/** Throws when a port of the recorded cluster cannot be listened on: its nodes need them back. */
async function checkRecordedPorts(record: ClusterRecord, dir: string): Promise<void> {
  for (const port of record.nodes.flatMap((n) => [n.port, n.busPort])) {
    const problem = await listenProblem(port);
    if (problem) {
      throw new ConfigError(
        `the cluster in ${dir} needs 127.0.0.1:${port} again, which is taken (${problem.message}): free it, or give --data-dir DIR for a new cluster`,
      );
    }
  }
}
