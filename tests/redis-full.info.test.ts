// What operators see of a full Redis: `info` (text and --json), the dashboard's overview data
// and /metrics report used and max memory and the full state, read from a redis-server of the
// test's own, filled deterministically (jobs in, then maxmemory set under what is used).
import { afterEach, describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { overview } from "../lib/dashboard/api-reads.ts";
import { type SmallRedis, startSmallRedis } from "./fixtures/redis-small.ts";
import { openQueue, runCli, testPrefix } from "./helpers.ts";

let full: SmallRedis | null = null;
afterEach(async () => {
  await full?.stop();
  full = null;
});

async function filledQueue() {
  full = await startSmallRedis(0);
  const prefix = testPrefix();
  await using q = await openQueue({ redisUrl: full.url, prefix });
  await q.enqueueMany([...Array(50).keys()].map((i) => ({ task: "t", payload: { i } })));
  await full.capBelowUsed();
  return { prefix, redis: full, max: (await full.memory()).maxBytes };
}

describe("a full Redis, as operators see it", () => {
  test("info --json and info report used and max memory and the full state", async () => {
    const { prefix, redis, max } = await filledQueue();
    const env = { REDIS_URL: redis.url };
    const json = await runCli("info", ["--prefix", prefix, "--json"], { env });
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.redis).toEqual({
      usedBytes: expect.any(Number),
      maxBytes: max,
      policy: "noeviction",
      full: true,
    });
    expect(report.redis.usedBytes).toBeGreaterThan(max);
    expect(report.queues[0]).toMatchObject({ queue: "default", waiting: 50 });
    const text = await runCli("info", ["--prefix", prefix], { env });
    expect(text.stdout).toMatch(
      /^redis memory [\d.]+ [kM]B used of [\d.]+ [kM]B \(\d+%\) {3}FULL: /m,
    );
    // What workers do: they drain only so far past maxmemory, then stop starting jobs (README,
    // "A full Redis"); "workers keep draining" beside an idle worker and a queue that waits
    // for an hour misled.
    expect(text.stdout).toContain(
      "FULL: new jobs are refused until results expire or dead letters are purged; workers start jobs only up to their memoryHeadroomPct (10% by default) past maxmemory, then wait for room\n",
    );
    await redis.raise(0);
    const after = JSON.parse(
      (await runCli("info", ["--prefix", prefix, "--json"], { env })).stdout,
    );
    expect(after.redis).toMatchObject({ maxBytes: 0, full: false });
  });

  test("the dashboard's overview data and /metrics carry the memory state", async () => {
    const { prefix, redis, max } = await filledQueue();
    const admin = await Admin.connect({ redisUrl: redis.url, prefix });
    try {
      const producer = () => Promise.reject(new Error("no producer needed"));
      const data = await overview({ admin, producer, actions: false });
      expect(data.memory).toMatchObject({ maxBytes: max, full: true });
      const metrics = await admin.metrics();
      expect(metrics).toContain("# TYPE courier_redis_full gauge\ncourier_redis_full 1\n");
      expect(metrics).toContain(`courier_redis_max_memory_bytes ${max}\n`);
      expect(metrics).toMatch(/^courier_redis_used_memory_bytes \d+$/m);
      await redis.raise(0);
      expect(await admin.metrics()).toContain("courier_redis_full 0\n");
      expect((await admin.overview()).memory?.full).toBe(false);
    } finally {
      await admin.close();
    }
  });
});
