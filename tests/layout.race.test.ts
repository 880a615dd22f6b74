// A queue made at the same moment by two processes that disagree on its shard count: whichever
// record lands first stands, and the other process writes nothing where no worker would read
// (lib/engine/layout.ts, layout.lua, enqueue.lua's check).
import { expect, test } from "bun:test";
import { enqueueJobs, prepareBatch } from "../lib/engine/enqueue.ts";
import { layoutKey, queueKeys } from "../lib/engine/keys.ts";
import { openLayout } from "../lib/engine/layout.ts";
import { runScript, scripts } from "../lib/engine/lua.ts";
import { ConfigError } from "../lib/errors.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { openQueue, rawRedis, startWorker, testPrefix } from "./helpers.ts";

test("a one-shard queue whose first jobs landed before a 6-shard record keeps one shard", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  // Between openLayout's read (no meta) and its record, a one-shard producer's first jobs wrote
  // the format into {q}:meta, the layout key: the record (layout.lua) leaves it one shard.
  await r.sendCommand(["HSET", layoutKey(prefix, "q"), "format", "2"]);
  const client = r as unknown as Redis;
  const reply = await runScript(client, scripts.layout, [layoutKey(prefix, "q")], [6]);
  expect(reply).toEqual([null, "2"]);
  expect(await r.sendCommand(["HGET", layoutKey(prefix, "q"), "shards"])).toBeNull();
  await expect(openLayout(client, prefix, "q", 6, true)).rejects.toThrow(/has 1 shard, not 6/);
});

test("a new queue's count is recorded once: a second record keeps the first", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  const client = r as unknown as Redis;
  expect((await openLayout(client, prefix, "q", 6, true)).shards).toBe(6);
  const again = await runScript(client, scripts.layout, [layoutKey(prefix, "q")], [3]);
  expect(again).toEqual(["6", null]);
});

test("a one-shard producer's batch is refused on a queue just made of 6 shards", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  const client = r as unknown as Redis;
  await openLayout(client, prefix, "q", 6, true);
  const keys = queueKeys(prefix, "q");
  const job = { task: "t", payload: "{}", maxAttempts: 1 };
  await expect(enqueueJobs(client, keys, prepareBatch([job]))).rejects.toThrow(
    /made with 6 shards by another process/,
  );
  expect(Number(await r.sendCommand(["EXISTS", keys.stream]))).toBe(0);
});

test("a producer of 6 shards whose queue a worker just made of 1 is told so, not that Redis is unreachable", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q", shards: 6 });
  // A worker started without --shards made the queue between the producer's connect and its
  // first enqueue: the record refuses 6 (ConfigError), which is no connection failure to retry.
  await openLayout(r as unknown as Redis, prefix, "q", 1, true);
  const err = await q.enqueue("t", {}).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect(String(err)).toMatch(/has 1 shard, not 6/);
  expect(String(err)).not.toContain("unreachable");
});

test("a 6-shard producer whose queue a worker made meanwhile with 1: refused at once, one line, not 'unreachable'", async () => {
  const prefix = testPrefix();
  // Connected before the queue existed: no layout to refuse yet. Retries allowed: a refusal of
  // the count is no outage, and no retry would change it.
  await using q = await openQueue({ prefix, shards: 6, retryConnectS: 30 });
  const w = await startWorker({ prefix, tasks: [], shards: 1 });
  const started = Date.now();
  const err = await q.enqueue("t", null).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toBe(
    `queue "default" (prefix ${prefix}) has 1 shard, not 6: the count is fixed when a queue is created (leave out --shards, or use another --queue)`,
  );
  expect(Date.now() - started).toBeLessThan(10_000); // not retried for retryConnectS
  await w.stop();
});
