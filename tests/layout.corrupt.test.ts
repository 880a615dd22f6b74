// A queue's layout key `{queue}:meta` with a shard count no process of ours wrote (a hand edit):
// refused in one line naming the key, by every reader (lib/engine/layout.ts). A one-shard
// queue's layout holds its data format (its meta is that key); a count of more than one beside
// it read the queue as N shards under other tags, and its jobs, in the one-shard keys, were
// seen by nothing: the worker ran none of them (`--burst` exited 0), `info` said 0 waiting.
import { expect, test } from "bun:test";
import { startDashboard } from "../lib/dashboard/server.ts";
import { layoutKey } from "../lib/engine/keys.ts";
import { openLayout, readShards } from "../lib/engine/layout.ts";
import { RedisRefusedError } from "../lib/errors.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { openQueue, rawRedis, redisUrl, runCli, testPrefix } from "./helpers.ts";

test.each([
  ["abc", "unreadable shard count"],
  ["0", "unreadable shard count"],
  ["1025", "unreadable shard count"],
  ["2", "a shard count 2 beside a one-shard queue's data format"],
])("a layout of a one-shard queue saying shards %p is refused", async (shards, said) => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  const client = r as unknown as Redis;
  {
    await using q = await openQueue({ prefix, queue: "q", shards: 1 });
    await q.enqueue("t", {});
  }
  const key = layoutKey(prefix, "q");
  expect(await r.sendCommand(["HGET", key, "format"])).toBe("2");
  await r.sendCommand(["HSET", key, "shards", shards]);
  for (const read of [
    () => readShards(client, prefix, "q"),
    () => openLayout(client, prefix, "q", undefined, true),
  ]) {
    const err = await read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisRefusedError);
    expect(String((err as Error).message)).toContain(said);
    expect(String((err as Error).message)).toContain(key);
  }
  // Nothing written: the count stays as found, no shard's keys made.
  expect(await r.sendCommand(["HGET", key, "shards"])).toBe(shards);
  expect(await r.sendCommand(["KEYS", `${prefix}:{q#*`])).toEqual([]);
});

test("a one-shard queue's layout saying shards 1 (a worker made it first) reads as one shard", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  const key = layoutKey(prefix, "q");
  await r.sendCommand(["HSET", key, "shards", "1", "format", "2"]);
  expect(await readShards(r as unknown as Redis, prefix, "q")).toBe(1);
});

test("info shows such a queue unreadable and the other queues as usual, exit 6", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  for (const queue of ["good", "q"]) {
    await using q = await openQueue({ prefix, queue, shards: 1 });
    await q.enqueue("t", {});
  }
  await r.sendCommand(["HSET", layoutKey(prefix, "q"), "shards", "2"]);
  const out = await runCli("info", ["--prefix", prefix]);
  expect(out.code).toBe(6);
  expect(out.stdout).toMatch(/^queue good\n {2}waiting 1 /m);
  expect(out.stdout).toContain('queue q\n  unreadable: queue "q" (prefix');
  expect(out.stdout).toContain("has a shard count 2 beside a one-shard queue's data format");
});

// The layout key of another type (another program's `SET`): the readers' raw WRONGTYPE named no
// key; the dashboard answered `?queue=q` with a 500 ("internal error") and `info --queue q` a
// line about some key under the prefix. Now one refusal naming the key, as a bad count is.
test("a layout key of another type: one line naming it, from info --queue, info and the dashboard (409)", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  for (const queue of ["good", "q"]) {
    await using q = await openQueue({ prefix, queue, shards: 1 });
    await q.enqueue("t", {});
  }
  const key = layoutKey(prefix, "q");
  await r.sendCommand(["DEL", key]);
  await r.sendCommand(["SET", key, "junk"]);
  const line = `queue "q" (prefix ${prefix}) cannot be read: key ${key} holds a string where Courier keeps a hash`;
  const err = await readShards(r as unknown as Redis, prefix, "q").catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RedisRefusedError);
  expect((err as Error).message).toStartWith(line);
  const one = await runCli("info", ["--prefix", prefix, "--queue", "q"]);
  expect(one.code).toBe(6);
  expect(one.stderr).toStartWith(`info: ${line}`);
  const all = await runCli("info", ["--prefix", prefix]);
  expect(all.code).toBe(6);
  expect(all.stdout).toMatch(/^queue good\n {2}waiting 1 /m);
  expect(all.stdout).toContain(`queue q\n  unreadable: ${line}`);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, queue: "good", port: 0 });
  try {
    const res = await fetch(`${d.url}/api/overview?queue=q`);
    expect(res.status).toBe(409);
    expect((await res.json()).error).toStartWith(line);
  } finally {
    await d.stop();
  }
});
