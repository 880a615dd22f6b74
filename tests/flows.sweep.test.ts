// The sweep of `released` (ended.lua 'read', lib/worker/flows.ts) keeps up with children that
// end fast: one drain goes on while it finds ended children (within its budget), and lets go of
// their parents' outcomes for all of them (docs/internals.md, "Dependencies and batches").
import { expect, test } from "bun:test";
import type { TakenEntry } from "../lib/engine/finish.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { FlowDrain } from "../lib/worker/flows.ts";
import { deliverJob, drainAll, finishJob, group, TELL } from "./fixtures/flows.ts";
import { keysOf, overShards, shardsOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

const client = (r: unknown) => r as Parameters<typeof drainAll>[0];

test("one drain sweeps hundreds of released children that ended, and lets go of their parent", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const p = await q.enqueue("t", {});
  const N = 600;
  const specs = Array.from({ length: N }, (_, i) => ({ task: "c", id: `c${i}`, dependsOn: [p] }));
  await q.enqueueMany(specs);
  const { k, entry } = await deliverJob(client(r), q, p);
  await finishJob(client(r), k, entry);
  await drainAll(client(r), q); // the children are released to their streams
  let ran = 0;
  for (const s of shardsOf(q)) {
    await group(client(r), s);
    const read = ["XREADGROUP", "GROUP", GROUP, "w1", "COUNT", "1000", "STREAMS", s.stream, ">"];
    const reply = (await r.sendCommand(read)) as [string, TakenEntry[]][] | null;
    // One child in three still runs: the sweep's pages hold ended and running children mixed.
    for (const e of reply?.[0]?.[1] ?? []) {
      if (ran++ % 3 !== 0) await finishJob(client(r), s, e);
    }
  }
  expect(ran).toBe(N);
  const released = () =>
    overShards(q, async (s) => Number(await r.sendCommand(["ZCARD", s.released])));
  expect(await released()).toBe(N);
  for (const s of shardsOf(q)) await new FlowDrain(() => client(r), s, shardsOf(q), TELL).drain();
  expect(await released()).toBe(N / 3); // the ones running, and only they
  const pk = keysOf(q, p);
  expect(Number(await r.sendCommand(["SCARD", pk.holdsPrefix + p]))).toBe(N / 3);
  // They end: the next drain sweeps them and the parent's outcome gets its TTL back.
  for (const s of shardsOf(q)) {
    const own = ["XREADGROUP", "GROUP", GROUP, "w1", "COUNT", "1000", "STREAMS", s.stream, "0"];
    const reply = (await r.sendCommand(own)) as [string, TakenEntry[]][] | null;
    for (const e of reply?.[0]?.[1] ?? []) await finishJob(client(r), s, e);
  }
  for (const s of shardsOf(q)) await new FlowDrain(() => client(r), s, shardsOf(q), TELL).drain();
  expect(await released()).toBe(0);
  expect(
    await overShards(q, async (s) => Number(await r.sendCommand(["ZCARD", s.lettingGo]))),
  ).toBe(0);
  expect(await r.sendCommand(["EXISTS", pk.holdsPrefix + p])).toBe(0);
  expect(Number(await r.sendCommand(["PTTL", pk.resultPrefix + p]))).toBeGreaterThan(0);
});
