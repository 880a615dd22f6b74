// A job with dependsOn from a producer whose queue was emptied and made again with another
// shard count: written in its shard of the queue's layout, never in a stale one its parents'
// workers do not tell (child.lua refuses a shard of another layout; lib/queue/depends.ts).
import { expect, test } from "bun:test";
import { stampFormat } from "../lib/engine/format.ts";
import { layoutKey, type QueueKeys, shardKeys, shardOf } from "../lib/engine/keys.ts";
import { openLayout } from "../lib/engine/layout.ts";
import { RedisRefusedError } from "../lib/errors.ts";
import { asClient } from "./fixtures/engine.ts";
import { empty, later } from "./fixtures/remade.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

test.each([
  ["4 shards made again with 2: the child's shard 1 of 4 is no shard of 2", 4, 2, 1],
  ["2 shards made again with 4: the child's shard 0 of 2 is shard 0 of 4 too", 2, 4, 2],
])(
  "a stale producer's child, its queue of %s: written in its shard of the queue's layout",
  async (_, from, to, shard) => {
    await using r = await rawRedis();
    const prefix = testPrefix();
    const old = (await openLayout(asClient(r), prefix, "q", from, true)).keys;
    for (const k of old) await stampFormat(asClient(r), k);
    await using stale = await openQueue({ prefix, queue: "q", shards: undefined });
    await empty(r, prefix, from);
    const now = (await openLayout(asClient(r), prefix, "q", to, true)).keys;
    for (const k of now) await stampFormat(asClient(r), k); // as its workers do
    // The parent in shard 0, which both layouts share; the child in `shard` of the new layout.
    const ids = Array.from({ length: 400 }, (_, i) => `job-${i}`);
    const parent = ids.find((id) => shardOf(id, 4) === 0)!;
    const child = ids.find((id) => shardOf(id, to) === shard && shardOf(id, from) !== shard)!;
    await using fresh = await openQueue({ prefix, queue: "q", shards: undefined });
    await fresh.enqueue("t", "parent", { id: parent });
    const got = await later(() => stale.enqueue("t", "child", { id: child, dependsOn: [parent] }));
    expect(got).toBe(child);
    const record = (k: QueueKeys) => r.sendCommand(["HGET", k.record(child), "status"]);
    expect(await record(old[shardOf(child, from)]!)).toBe(null);
    expect(await record(now[shard]!)).toBe("waiting-for-parents");
    expect(stale.shards).toBe(to);
  },
);

test("a one-shard producer's child after its queue was emptied and made again with 3: written in its shard of 3", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await using stale = await openQueue({ prefix, queue: "q", shards: undefined });
  await stale.enqueue("t", 0);
  await empty(r, prefix, 1);
  const now = (await openLayout(asClient(r), prefix, "q", 3, true)).keys;
  for (const k of now) await stampFormat(asClient(r), k);
  await using fresh = await openQueue({ prefix, queue: "q", shards: undefined });
  const parent = await fresh.enqueue("t", "parent", { id: "parent" });
  const child = await later(() => stale.enqueue("t", "child", { dependsOn: [parent] }));
  const one = shardKeys(prefix, "q", 1)[0]!;
  expect(await r.sendCommand(["EXISTS", one.record(child)])).toBe(0);
  const k = now[shardOf(child, 3)]!;
  expect(await r.sendCommand(["HGET", k.record(child), "status"])).toBe("waiting-for-parents");
  expect(stale.shards).toBe(3);
});

test("a one-shard queue's meta given a count of 3 by hand: a child refused in one line, as a job is", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q", shards: 1 });
  const parent = await q.enqueue("t", "parent", { id: "parent" });
  await r.sendCommand(["HSET", layoutKey(prefix, "q"), "shards", "3"]);
  const err = await later(() =>
    q.enqueue("t", "child", { id: "child", dependsOn: [parent] }).catch((e: unknown) => e),
  );
  expect(err).toBeInstanceOf(RedisRefusedError);
  expect((err as Error).message).toContain(
    "has a shard count 3 beside a one-shard queue's data format",
  );
  const one = shardKeys(prefix, "q", 1)[0]!;
  expect(await r.sendCommand(["EXISTS", one.record("child")])).toBe(0);
});

test("a stale 4-shard producer's enqueueMany of a child whose parent is in its shard of 2: enqueued there", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  const old = (await openLayout(asClient(r), prefix, "q", 4, true)).keys;
  for (const k of old) await stampFormat(asClient(r), k);
  await using stale = await openQueue({ prefix, queue: "q", shards: undefined });
  await empty(r, prefix, 4);
  const now = (await openLayout(asClient(r), prefix, "q", 2, true)).keys;
  for (const k of now) await stampFormat(asClient(r), k);
  const ids = Array.from({ length: 400 }, (_, i) => `job-${i}`);
  // A parent the 4 shards' keys do not hold: in shard 1 of 2, whose tag is no shard of 4's.
  const parent = ids.find((id) => shardOf(id, 2) === 1)!;
  await using fresh = await openQueue({ prefix, queue: "q", shards: undefined });
  await fresh.enqueue("t", "parent", { id: parent });
  const [job] = await later(() =>
    stale.enqueueMany([{ task: "t", payload: "child", id: "child", dependsOn: [parent] }]),
  );
  expect(job!.id).toBe("child");
  const k = now[shardOf("child", 2)]!;
  expect(await r.sendCommand(["HGET", k.record("child"), "status"])).toBe("waiting-for-parents");
});
