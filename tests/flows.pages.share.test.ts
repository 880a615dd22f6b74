// Pages of ended parents' children (docs/internals.md, "Dependencies and batches"): a member of
// a dependents set that names no child (a hand edit) leaves the set at the read and takes no
// room in the page, so it never holds back the parents after it; and a parent with many
// children takes at most half the page while others wait behind it.
import { expect, test } from "bun:test";
import { doneEnded, readEnded } from "../lib/engine/ended.ts";
import { shardOf } from "../lib/engine/keys.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { drainAll, endedParent } from "./fixtures/flows.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

const client = (r: unknown) => r as Parameters<typeof drainAll>[0];

/** Parent ids of one shard (the cluster pass has 6). */
function sameShard(q: Queue): string[] {
  const ids = Array.from({ length: 50 }, (_, i) => `ps-${String(i).padStart(2, "0")}`);
  return ids.filter((id) => shardOf(id, q.shards) === shardOf(ids[0]!, q.shards));
}

test("members that name no child leave the set and never starve the parents behind", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const same = sameShard(q);
  const a = await endedParent(q, 1, same[0]!);
  const k = keysOf(q, a.p);
  // 1,000 members that are not UTF-8 text (0xff 0xfe …): the reply cannot carry them, so
  // `done` could never remove them by the text the worker sends back.
  const bad = Array.from({ length: 1_000 }, (_, i) => Buffer.from([0xff, 0xfe, i & 0xff, i >> 8]));
  await r.sendCommand(["SADD", Buffer.from(`${k.dependentsPrefix}${a.p}`), ...bad] as never);
  const b = await endedParent(q, 1, same[1]!);
  expect(keysOf(q, b.p).endedParents).toBe(k.endedParents);
  // `a` asks half the page (500 of its 1,001 members, at random): the 499 or 500 that name no child
  // leave its set uncounted, and `b` behind it is read in the same call.
  const got = await readEnded(client(r), k, 100, 1_000);
  expect(got.parents.map((x) => x.id)).toEqual([a.p, b.p]);
  expect(got.parents[1]?.children).toEqual(b.children);
  expect(await r.sendCommand(["SCARD", `${k.dependentsPrefix}${a.p}`])).toBeLessThanOrEqual(502);
  await drainAll(client(r), q);
  expect(await r.sendCommand(["ZCARD", k.endedParents])).toBe(0);
  expect(await r.sendCommand(["EXISTS", `${k.dependentsPrefix}${a.p}`])).toBe(0);
  expect((await q.getJob(b.children[0]!))?.status).toBe("queued");
  expect((await q.getJob(a.children[0]!))?.status).toBe("queued");
});

test("a parent with many children takes half the page while others wait behind it", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const same = sameShard(q);
  const a = await endedParent(q, 30, same[0]!);
  const b = await endedParent(q, 3, same[1]!);
  const k = keysOf(q, a.p);
  expect(keysOf(q, b.p).endedParents).toBe(k.endedParents);
  const got = await readEnded(client(r), k, 100, 10);
  expect(got.parents.map((x) => [x.id, x.children.length])).toEqual([
    [a.p, 5],
    [b.p, 3],
  ]);
  // `a` has more: read again.
  expect(got.childrenMore).toBe(true);
  // `b` is done and leaves; `a` (at the back now) is the last parent read: it takes what is
  // left of the page.
  await doneEnded(client(r), k, got.parents);
  const alone = await readEnded(client(r), keysOf(q, b.p), 1, 10);
  expect(alone.parents.map((x) => [x.id, x.children.length])).toEqual([[a.p, 10]]);
});
