// Big parents at the head of ended-parents take turns with those behind them (docs/internals.md,
// "Dependencies and batches"; ended.lua read): one whose page came back full goes to the back,
// and every parent the read looked at has its outcome kept (PERSIST) while children hold it,
// read this time or not.
import { expect, test } from "bun:test";
import { doneEnded, readEnded } from "../lib/engine/ended.ts";
import { shardOf } from "../lib/engine/keys.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { drainAll, endedParent } from "./fixtures/flows.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

const client = (r: unknown) => r as Parameters<typeof drainAll>[0];

/** Parents a, b (40 children each) and c (1) on one shard (the cluster pass has 6). */
async function threeParents(q: Queue) {
  const ids = Array.from({ length: 50 }, (_, i) => `pt-${String(i).padStart(2, "0")}`);
  const same = ids.filter((id) => shardOf(id, q.shards) === shardOf(ids[0]!, q.shards));
  const a = await endedParent(q, 40, same[0]!);
  const b = await endedParent(q, 40, same[1]!);
  const c = await endedParent(q, 1, same[2]!);
  const k = keysOf(q, a.p);
  expect(keysOf(q, c.p).endedParents).toBe(k.endedParents);
  return { a, b, c, k };
}

test("two big parents at the head go to the back: the one behind is read at the next read", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const { a, b, c, k } = await threeParents(q);
  // All three ended in one ms, later than now (so ties are in id order: a, b, c).
  const at = String(Date.now() + 3_600_000);
  await r.sendCommand(["ZADD", k.endedParents, "XX", at, a.p, at, b.p, at, c.p]);
  const first = await readEnded(client(r), k, 100, 4);
  expect(first.parents.map((x) => [x.id, x.children.length])).toEqual([
    [a.p, 2],
    [b.p, 2],
  ]);
  await doneEnded(client(r), k, first.parents);
  const second = await readEnded(client(r), k, 100, 4);
  expect(second.parents[0]).toMatchObject({ id: c.p, children: c.children });
  // The drain tells the rest (the pages above were read and done by hand, not told).
  await doneEnded(client(r), k, second.parents);
  await drainAll(client(r), q);
  expect(await r.sendCommand(["ZCARD", k.endedParents])).toBe(0);
});

test("a parent the page has no room for has its outcome kept while it waits", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const { a, b, c, k } = await threeParents(q);
  const ttl = async (id: string) => Number(await r.sendCommand(["PTTL", `${k.resultPrefix}${id}`]));
  expect(await ttl(c.p)).toBeGreaterThan(0);
  const got = await readEnded(client(r), k, 100, 4);
  expect(got.parents.map((x) => x.id)).toEqual([a.p, b.p]);
  expect([await ttl(a.p), await ttl(b.p), await ttl(c.p)]).toEqual([-1, -1, -1]);
});
