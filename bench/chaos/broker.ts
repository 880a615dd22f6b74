// The chaos run's Redis and what it does to it: one redis-server with AOF, its workers behind a
// proxy that drops their connections, killed (SIGKILL) and restarted on its AOF a few times; or
// (`--cluster`, issue 12) a local 3+3 Redis Cluster with AOF and issue 12's failover settings,
// a queue of 6 shards, and one master killed (kill -9) midway, its replica taking over (a
// proxy cannot stand in front of a cluster: nodes tell clients their own addresses).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalCluster, startCluster } from "../../lib/stack/cluster.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../../lib/stack/redis-server.ts";
import { startProxy } from "../_proxy.ts";

/** Resolves once this share of the jobs has finished. */
export type Progress = (share: number) => Promise<void>;

export interface Broker {
  /** The producer's URL. */
  url: string;
  /** The workers' URL (through the proxy on one server). */
  workerUrl: string;
  /** Shards of the queue (the workers are told, so whoever starts first makes it so). */
  shards: number;
  /** Cuts every worker connection (one server only). */
  drop(): void;
  /** Kills Redis (or the master of `key`) and brings it back, spread over the processing. */
  disrupt(progress: Progress, key: string): Promise<void>;
  /** What was done to Redis, for the summary. */
  done(): Record<string, unknown>;
  stop(): Promise<void>;
}

export async function startBroker(cluster: boolean, restarts: number): Promise<Broker> {
  return cluster ? clusterBroker() : serverBroker(restarts);
}

async function serverBroker(restarts: number): Promise<Broker> {
  const dataDir = mkdtempSync(join(tmpdir(), "courier-chaos-"));
  const port = await findFreePort();
  let redis: RedisServer = await startRedisServer({ port, dataDir, persistence: true });
  const proxy = startProxy(port);
  let drops = 0;
  return {
    url: redis.url,
    workerUrl: `redis://127.0.0.1:${proxy.port}`, // so it can cut them off
    shards: 1,
    drop() {
      drops++;
      proxy.drop();
    },
    async disrupt(progress) {
      for (let k = 1; k <= restarts; k++) {
        await progress(k / (restarts + 1));
        redis.kill();
        await redis.exited;
        await Bun.sleep(1_000);
        redis = await startRedisServer({ port, dataDir, persistence: true });
      }
    },
    done: () => ({ redisRestarts: restarts, connectionDrops: drops }),
    async stop() {
      proxy.close();
      await redis.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const CLUSTER_SHARDS = 6;

async function clusterBroker(): Promise<Broker> {
  const lab: LocalCluster = await startCluster({ fullCoverage: false, aof: true });
  const kills: { port: number; atShare: number; failoverMs: number; restartMs: number }[] = [];
  return {
    url: lab.seedUrl,
    workerUrl: lab.seedUrl,
    shards: CLUSTER_SHARDS,
    drop() {},
    /** Midway: kill -9 the master of `key`, wait for its replica to take over, restart it. */
    async disrupt(progress, key) {
      await progress(0.5);
      const { port } = await lab.masterOf(key);
      const failoverMs = await lab.kill(port);
      const restartMs = await lab.restart(port); // back as a replica of its successor
      kills.push({ port, atShare: 0.5, failoverMs, restartMs });
    },
    done: () => ({ cluster: "3+3, 6 shards", masterKills: kills }),
    stop: () => lab.stop(),
  };
}
