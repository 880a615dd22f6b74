// The bench's Redis Cluster (issue 12): a local 3+3 cluster (lib/stack/cluster.ts) with an admin
// connection to each node, and the same view of the bench's one redis-server, so a workload runs
// the same code on either and reads INFO per node. Admin connections are plain node-redis
// clients of one node each (RESP 2), never the library's cluster client.
import { createClient } from "redis";
import { type QueueKeys, shardKeys } from "../lib/engine/keys.ts";
import { Queue } from "../lib/index.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import type { BenchRedis, Redis } from "./_redis.ts";

export interface LabNode {
  port: number;
  role: "master" | "replica";
  /** For a replica: the port of its master (as started); for a master its own port. */
  masterPort: number;
  admin: Redis;
}

/** Where a workload runs: a cluster or one server, as one URL and its nodes. */
export interface Lab {
  /** `3x3` the cluster; `single` one server, 1 shard; `single<N>` one server, N shards. */
  name: "3x3" | "single" | `single${number}`;
  /** What the library takes: `redis+cluster://…` or `redis://…`. */
  url: string;
  /** Shards of the queues made here: 6 on the cluster, 1 on one server ("the same code"). */
  shards: number;
  nodes: LabNode[];
  /** The cluster, to kill a master; none for one server. */
  cluster?: LocalCluster;
}

/** A 3+3 cluster with `cluster-require-full-coverage no` (issue 12's failover settings). */
export async function startLab(shards = 6): Promise<Lab> {
  const cluster = await startCluster({ fullCoverage: false });
  const started = cluster.nodes;
  const masters = cluster.masters;
  const nodes = await Promise.all(
    started.map(async (n, i): Promise<LabNode> => {
      const admin = createClient({ RESP: 2, socket: { host: "127.0.0.1", port: n.port } });
      admin.on("error", () => {}); // a killed node's admin connection: read as gone, not thrown
      await admin.connect();
      const role = i < masters ? "master" : "replica";
      return { port: n.port, role, masterPort: started[i % masters]!.port, admin };
    }),
  );
  return { name: "3x3", url: cluster.seedUrl, shards, nodes, cluster };
}

/**
 * The bench's one redis-server as a lab of one master: `single` with a queue of one shard (what
 * a one-server user runs), `single6` with the cluster side's 6 (the same queue on one server).
 */
export function singleLab(redis: BenchRedis, shards = 1): Lab {
  const node: LabNode = {
    port: redis.port,
    role: "master",
    masterPort: redis.port,
    admin: redis.admin,
  };
  return {
    name: shards === 1 ? "single" : `single${shards}`,
    url: redis.url,
    shards,
    nodes: [node],
  };
}

export async function stopLab(lab: Lab): Promise<void> {
  if (!lab.cluster) return; // the single server is withRedis's
  for (const n of lab.nodes) n.admin.destroy();
  await lab.cluster.stop();
}

export const masters = (lab: Lab) => lab.nodes.filter((n) => n.role === "master");

/** Empties every master (replicas follow) and waits until each replica has caught up. */
export async function flushLab(lab: Lab): Promise<void> {
  await Promise.all(masters(lab).map((n) => n.admin.sendCommand(["FLUSHALL", "SYNC"])));
  await Promise.all(masters(lab).map((n) => replicated(lab, n)));
}

async function replicated(lab: Lab, master: LabNode): Promise<void> {
  if (!lab.nodes.some((n) => n.role === "replica" && n.masterPort === master.port)) return;
  await master.admin.sendCommand(["WAIT", "1", "5000"]);
}

/** A queue's shards, each with the admin connection of the master that holds it now. */
export async function shardsOf(
  lab: Lab,
  prefix: string,
  queue: string,
): Promise<{ keys: QueueKeys; node: LabNode }[]> {
  const keys = shardKeys(prefix, queue, lab.shards);
  return Promise.all(
    keys.map(async (k) => {
      const port = lab.cluster ? (await lab.cluster.masterOf(k.stats)).port : lab.nodes[0]!.port;
      const node = lab.nodes.find((n) => n.port === port);
      if (!node) throw new Error(`no admin connection to 127.0.0.1:${port}`);
      return { keys: k, node };
    }),
  );
}

/** Results recorded on each shard (the stats hash's `finished`, bumped by a first finish only). */
export async function finishedPerShard(
  shards: readonly { keys: QueueKeys; node: LabNode }[],
): Promise<number[]> {
  return Promise.all(
    shards.map(async (s) =>
      Number((await s.node.admin.sendCommand(["HGET", s.keys.stats, "finished"])) ?? 0),
    ),
  );
}

/** Queues `n` no-op jobs on a queue of the lab's shard count, in bulk, through the library. */
export async function enqueueNoops(
  lab: Lab,
  prefix: string,
  queue: string,
  n: number,
  chunk = 50_000,
): Promise<void> {
  const q = await Queue.connect({ redisUrl: lab.url, queue, prefix, shards: lab.shards });
  try {
    for (let i = 0; i < n; i += chunk) {
      const size = Math.min(chunk, n - i);
      await q.enqueueMany(
        Array.from({ length: size }, (_, j) => ({ task: "noop", payload: { i: i + j } })),
      );
    }
  } finally {
    await q.close();
  }
}
