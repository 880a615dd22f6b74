// Redis' memory on a cluster (lib/redis/memory-nodes.ts), against a real 3+3 cluster: each
// master has its own maxmemory, so `info`, the dashboard and /metrics report the fullest master
// (naming it), and a producer refused for lack of memory is told the figures of the node that
// refused (its shard's master), not those of whichever node the client sends keyless commands to.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { shardKeys, shardOf } from "../lib/engine/keys.ts";
import { RedisFullError } from "../lib/errors.ts";
import { Queue } from "../lib/queue/queue.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { onPort } from "./fixtures/on-port.ts";
import { runCli, testPrefix } from "./helpers.ts";

let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await startCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

/** A shard of `keys` whose master is not the one a client's keyless commands go to by default. */
async function shardAwayFromDefault(prefix: string, queue: string) {
  // lib/redis/cluster.ts: keyless commands go to the master of the key "courier"'s slot.
  const home = (await cluster.masterOf("courier")).port;
  const keys = shardKeys(prefix, queue, 6);
  for (const k of keys) {
    const { port } = await cluster.masterOf(k.stream);
    if (port !== home) return { shard: k.shard, port };
  }
  throw new Error("every shard is on the default node");
}

test("the fullest master is reported, and a refusal names the node that refused", async () => {
  const prefix = testPrefix();
  const queue = "mem";
  const q = await Queue.connect({ redisUrl: cluster.seedUrl, prefix, queue, shards: 6 });
  const admin = await Admin.connect({ redisUrl: cluster.seedUrl, prefix, queue });
  await q.enqueue("wordcount", { url: "https://example.org/a" }); // the layout is recorded
  const { shard, port } = await shardAwayFromDefault(prefix, queue);
  await onPort(port, ["CONFIG", "SET", "maxmemory", "1mb"]);
  try {
    let id = "job-0";
    for (let i = 1; shardOf(id, 6) !== shard; i++) id = `job-${i}`;
    const refused = await q.enqueue("wordcount", { url: "https://example.org/b" }, { id }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(RedisFullError);
    expect((refused as Error).message).toContain(
      `is out of memory on node 127.0.0.1:${port} (maxmemory 1 MB, policy noeviction): job not enqueued`,
    );

    const { memory } = await admin.overview();
    expect(memory).toMatchObject({
      maxBytes: 1_048_576,
      full: true,
      node: `127.0.0.1:${port}`,
      nodes: 3,
    });

    const metrics = await admin.metrics();
    expect(metrics).toContain("courier_redis_max_memory_bytes 1048576");
    expect(metrics).toContain("courier_redis_full 1");

    const info = await runCli("info", ["--redis-url", cluster.seedUrl, "--prefix", prefix]);
    expect(info.stdout).toContain(`redis memory on 127.0.0.1:${port} (fullest of 3 masters)`);
    expect(info.stdout).toContain("of 1 MB");
  } finally {
    await onPort(port, ["CONFIG", "SET", "maxmemory", "0"]);
    await Promise.all([q.close(), admin.close()]);
  }
});
