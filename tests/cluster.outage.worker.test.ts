// A worker of a 6-shard queue on a real 3+3 cluster while a producer enqueues, and one master
// is killed (kill -9) and fails over: it logs one line lost and one back, runs no job twice,
// and only the shards of the killed master look again at their own pending entries ("claimed"
// lines): a failover of one master is no outage of the shards on the others.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { shardKeys } from "../lib/engine/keys.ts";
import { Queue } from "../lib/queue/queue.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import type { Task } from "../lib/types.ts";
import { Worker } from "../lib/worker/worker.ts";
import { logRecorder, testPrefix, until } from "./helpers.ts";

let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await startCluster({ fullCoverage: false });
});

afterAll(async () => {
  await cluster?.stop();
});

test("a failover under load: one lost, one back, no job run twice", async () => {
  const prefix = testPrefix();
  const redisUrl = cluster.seedUrl;
  const echo: Task = { name: "echo", run: async (p) => p };
  const log = logRecorder();
  const worker = await Worker.start({
    ...{ redisUrl, prefix, queue: "q", shards: 6, tasks: [echo], logger: log },
    ...{ blockMs: 100, concurrency: 8, claimIdleMs: 60_000 },
  });
  const queue = await Queue.connect({ redisUrl, prefix, queue: "q", shards: 6 });
  const victim = (await cluster.masterOf(shardKeys(prefix, "q", 6)[0]!.stream)).port;
  const victimShards = new Set<unknown>();
  for (const [s, k] of shardKeys(prefix, "q", 6).entries()) {
    if ((await cluster.masterOf(k.stream)).port === victim) victimShards.add(s);
  }
  let enqueued = 0;
  let producing = true;
  const producer = (async () => {
    for (let i = 0; producing; i++) {
      // A job sent to the killed master fails until the failover is seen: sent again.
      await queue.enqueue("echo", { i }).then(
        () => enqueued++,
        () => {},
      );
      await Bun.sleep(5 + (i % 16)); // a producer's pace, 5–20 ms
    }
  })();
  try {
    await until(() => worker.processed >= 50, "jobs done before the kill", 30_000);
    await cluster.kill(victim);
    await until(() => log.events().includes("redis connection back"), "back", 30_000);
    const after = enqueued + 50;
    await until(() => enqueued >= after, "jobs enqueued after the failover", 30_000);
    producing = false;
    await producer;
    await until(() => worker.processed >= enqueued, "every job done", 30_000);
  } finally {
    producing = false;
    await producer;
    await queue.close();
    await worker.stop(0);
  }
  const events = log.events();
  expect(events.filter((e) => e.startsWith("finished (duplicate"))).toEqual([]);
  expect(worker.processed).toBe(enqueued);
  expect(events.filter((e) => e === "redis connection lost; reconnecting")).toHaveLength(1);
  expect(events.filter((e) => e === "redis connection back")).toHaveLength(1);
  // What a re-read finds is logged as claimed; it may find nothing (no entry was pending on the
  // killed master), so this asserts only that no shard of a healthy master claimed anything.
  const claimedOn = log.records.filter((r) => r.event === "claimed").map((r) => r.fields.shard);
  for (const shard of claimedOn) expect(victimShards.has(shard)).toBe(true);
}, 120_000);
