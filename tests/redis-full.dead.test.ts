// Dead letters on a full Redis (maxmemory reached, noeviction), where purging them is the
// README's remedy: `dead purge` (all, or by age) works and frees memory; `dead requeue` works
// when the job's record is there and otherwise refuses with one line and exit 7; the
// dashboard's actions answer JSON, 507 for a refusal, never a 500. Each test starts its own
// redis-server and fills it deterministically (letters in, then maxmemory set under what is used).
import { afterEach, describe, expect, test } from "bun:test";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { killWaiting } from "./fixtures/engine.ts";
import { type SmallRedis, startSmallRedis } from "./fixtures/redis-small.ts";
import { openQueue, pinShards, runCli, testPrefix } from "./helpers.ts";

// These tests run on a small Redis of their own (tests/fixtures/redis-small.ts), as in the
// first pass, not on the cluster: its queues have one shard, whose keys the tests read.
pinShards(1);

let full: SmallRedis | null = null;
let dashboard: Dashboard | null = null;
afterEach(async () => {
  await dashboard?.stop();
  dashboard = null;
  await full?.stop();
  full = null;
});

const PAD = "x".repeat(2_000); // letters of some weight, so purging them frees a measurable amount
const N = 100;
const TOKEN = "s3cret-test-token-0001";

/**
 * A full Redis holding N dead letters (their failed outcomes and records kept too: the jobs have
 * caller ids, whose records live as long as their outcomes).
 */
async function fullOfLetters() {
  full = await startSmallRedis(0);
  const prefix = testPrefix();
  await using q = await openQueue({ redisUrl: full.url, prefix });
  const jobs = await q.enqueueMany(
    [...Array(N).keys()].map((i) => ({ task: "fails", payload: { i, PAD }, id: `job-${i}` })),
  );
  const ids = jobs.map((j) => j.id);
  // Each fails for good, as a worker's last attempt records it.
  const error = (p: string) => `no luck for ${JSON.parse(p).i}`;
  expect(await killWaiting(q.client, q.keys, error)).toBe(N);
  await full.capBelowUsed();
  const server = full;
  await expect(server.redis.sendCommand(["SET", "probe", "x"])).rejects.toThrow(/^OOM /);
  const env = { REDIS_URL: server.url };
  const dead = (...args: string[]) => runCli("dead", [...args, "--prefix", prefix], { env });
  const letters = async () => Number(await server.redis.sendCommand(["XLEN", q.keys.dead]));
  return { prefix, ids, server, dead, letters, keys: q.keys };
}

describe("dead letters on a full Redis", () => {
  test("purge --all deletes every letter and frees memory", async () => {
    const { server, dead, letters } = await fullOfLetters();
    const before = (await server.memory()).usedBytes;
    const purged = await dead("purge", "--all", "--json");
    expect(purged.stderr).toBe("");
    expect(purged.code).toBe(0);
    expect(purged.stdout).toContain(String(N));
    expect(await letters()).toBe(0);
    expect((await server.memory()).usedBytes).toBeLessThan(before - N * PAD.length);
  });

  test("purge --older-than deletes the letters that old and frees memory", async () => {
    const { server, dead, letters } = await fullOfLetters();
    const before = (await server.memory()).usedBytes;
    // 1 ms: the letters were written before this process started (0 is refused: it is --all).
    const purged = await dead("purge", "--older-than", "1ms");
    expect(purged.stderr).toBe("");
    expect(purged.code).toBe(0);
    expect(await letters()).toBe(0);
    expect((await server.memory()).usedBytes).toBeLessThan(before - N * PAD.length);
  });

  test("requeue works while the record is there; without it, one line and exit 7", async () => {
    const { ids, server, dead, letters, keys } = await fullOfLetters();
    const requeued = await dead("requeue", ids[0]!);
    expect(requeued.code).toBe(0);
    expect(String(await server.redis.sendCommand(["HGET", keys.record(ids[0]!), "status"]))).toBe(
      "queued",
    );
    // A job that failed for good while Redis was full keeps only its letter: requeuing it
    // recreates the record, which takes memory. Refused as a whole, nothing written.
    await server.redis.sendCommand(["DEL", keys.record(ids[1]!), keys.result(ids[1]!)]);
    await server.capBelowUsed(); // that freed memory: full again
    const refused = await dead("requeue", ids[1]!);
    expect(refused.code).toBe(7);
    expect(refused.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^dead: Redis is out of memory .*README/),
    ]);
    expect(await letters()).toBe(N - 1);
    expect(Number(await server.redis.sendCommand(["EXISTS", keys.record(ids[1]!)]))).toBe(0);
  });

  test("a batch whose first letter has its record and the others not: refused whole, exit 7", async () => {
    const { ids, server, dead, letters, keys } = await fullOfLetters();
    // The first letter's record is there (its requeue would write first with HDEL, which Redis
    // does not check); the others' were dropped: recreating them takes memory.
    const drop = [ids[1]!, ids[2]!].flatMap((id) => [keys.record(id), keys.result(id)]);
    await server.redis.sendCommand(["DEL", ...drop]);
    await server.capBelowUsed(); // that freed memory: full again
    const batch = [ids[0]!, ids[1]!, ids[2]!];
    const refused = await dead("requeue", ...batch);
    expect(refused.code).toBe(7);
    expect(refused.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^dead: Redis is out of memory .*README/),
    ]);
    // Nothing written: every letter is still there, the kept job still failed, none rebuilt.
    expect(await letters()).toBe(N);
    const status = (id: string) => server.redis.sendCommand(["HGET", keys.record(id), "status"]);
    const outcome = String(await server.redis.sendCommand(["GET", keys.result(ids[0]!)]));
    expect(outcome[0]).toBe("X"); // failed
    expect(Number(await server.redis.sendCommand(["EXISTS", keys.record(ids[1]!)]))).toBe(0);
    expect(Number(await server.redis.sendCommand(["XLEN", keys.stream]))).toBe(0);
    await server.raise(0); // room again: the same batch goes through, each job queued once
    expect((await dead("requeue", ...batch)).code).toBe(0);
    expect(await letters()).toBe(N - 3);
    for (const id of batch) expect(String(await status(id))).toBe("queued");
    expect(Number(await server.redis.sendCommand(["XLEN", keys.stream]))).toBe(3);
  });

  test("the dashboard's actions answer JSON: delete works, a refused requeue is 507", async () => {
    const { prefix, ids, server, letters, keys } = await fullOfLetters();
    dashboard = await startDashboard({ redisUrl: server.url, prefix, port: 0, token: TOKEN });
    const post = async (path: string) => {
      const res = await fetch(dashboard!.url + path, {
        method: "POST",
        headers: { "content-type": "application/json", "x-courier-token": TOKEN },
        body: "{}",
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await post(`/api/dead/${ids[0]}/delete`)).toEqual({
      status: 200,
      body: { id: ids[0], deleted: true },
    });
    // The jobs died while Redis was full: their letters are all that is left of them.
    const drop = ids.flatMap((id) => [keys.record(id), keys.result(id)]);
    await server.redis.sendCommand(["DEL", ...drop]);
    await server.capBelowUsed(); // that freed memory: full again
    const refused = await post(`/api/dead/${ids[1]}/requeue`);
    expect(refused.status).toBe(507);
    expect(refused.body.error).toStartWith("Redis is out of memory");
    expect(await post("/api/dead/requeue-all")).toMatchObject({ status: 507 });
    expect(await letters()).toBe(N - 1);
  });
});
