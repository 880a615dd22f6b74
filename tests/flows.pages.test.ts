// A parent with many children is drained in pages (docs/internals.md, "Dependencies and
// batches"): no `ended.lua read` returns more children than its page, every child is told
// once, and a drain that stops between a page's tell and its `done` (a crash) loses none and
// releases none twice. Parents and children are on different shards in the cluster pass.
import { expect, test } from "bun:test";
import { doneEnded, type EndedParent, readEnded } from "../lib/engine/ended.ts";
import { shardOf } from "../lib/engine/keys.ts";
import { type ParentEnded, tellChildren } from "../lib/engine/parent-ended.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { drainAll, endedParent, TELL } from "./fixtures/flows.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

const client = (r: unknown) => r as Parameters<typeof drainAll>[0];

/** A finished parent with `n` children waiting for it; the parent's id and the children's. */
/** Tells the children read, on their shards, as the worker's drain does. */
async function tell(q: Queue, parents: EndedParent[]) {
  await using r = await rawRedis();
  const all = shardsOf(q);
  const byShard = new Map<number, ParentEnded[]>();
  for (const p of parents) {
    for (const child of p.children) {
      const s = shardOf(child, all.length);
      byShard.set(s, [...(byShard.get(s) ?? []), { child, parent: p.id, letter: p.letter }]);
    }
  }
  for (const [s, items] of byShard) await tellChildren(client(r), all[s]!, TELL, items);
}

/** How many stream entries carry each of `ids` (1 each once released exactly once). */
async function entries(q: Queue, ids: string[]): Promise<number[]> {
  await using r = await rawRedis();
  const seen = new Map<string, number>();
  for (const k of shardsOf(q)) {
    for (const [, f] of await r.sendCommand(["XRANGE", k.stream, "-", "+"])) {
      const id = f[f.indexOf("i") + 1];
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
  }
  return ids.map((id) => seen.get(id) ?? 0);
}

test("a read returns at most its page of children, and the pages tell every child once", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const { p, children } = await endedParent(q, 25);
  const k = keysOf(q, p);
  const read: string[] = [];
  for (let page = 0; page < 3; page++) {
    const got = await readEnded(client(r), k, 100, 10);
    const n = got.parents.reduce((sum, x) => sum + x.children.length, 0);
    expect(n).toBeLessThanOrEqual(10);
    expect(got.childrenMore).toBe(page < 2);
    for (const x of got.parents) read.push(...x.children);
    await tell(q, got.parents);
    expect(await doneEnded(client(r), k, got.parents)).toBe(page < 2 ? 0 : 1);
  }
  expect(read.sort()).toEqual([...children].sort());
  expect(await r.sendCommand(["ZCARD", k.endedParents])).toBe(0);
  expect(await r.sendCommand(["EXISTS", `${k.dependentsPrefix}${p}`])).toBe(0);
  expect(await entries(q, children)).toEqual(children.map(() => 1));
});

test("a full page leaves the parents after it for the next read", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  // Three parents of one shard (the cluster pass has 6), `a` first; each takes at most half
  // the page while others wait, so `a` and `b` fill it and `c` waits.
  const ids = Array.from({ length: 50 }, (_, i) => `pg-${String(i).padStart(2, "0")}`);
  const same = ids.filter((id) => shardOf(id, q.shards) === shardOf(ids[0]!, q.shards));
  const a = await endedParent(q, 4, same[0]);
  const b = await endedParent(q, 4, same[1]);
  const c = await endedParent(q, 4, same[2]);
  const k = keysOf(q, a.p);
  expect(keysOf(q, c.p).endedParents).toBe(k.endedParents);
  const got = await readEnded(client(r), k, 100, 4);
  expect(got.parents.map((x) => [x.id, x.children.length])).toEqual([
    [a.p, 2],
    [b.p, 2],
  ]);
  expect(got.childrenMore).toBe(true);
});

test("a drain stopped between a page's tell and its done loses no child, releases none twice", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const { p, children } = await endedParent(q, 2_500);
  const k = keysOf(q, p);
  const first = await readEnded(client(r), k, 100, 1_000);
  expect(first.parents[0]?.children.length).toBe(1_000);
  await tell(q, first.parents); // told, and the worker dies before `done`
  await drainAll(client(r), q);
  expect(await r.sendCommand(["ZCARD", k.endedParents])).toBe(0);
  const statuses = await Promise.all(children.map(async (id) => (await q.getJob(id))?.status));
  expect(new Set(statuses)).toEqual(new Set(["queued"]));
  expect(await entries(q, children)).toEqual(children.map(() => 1));
});
