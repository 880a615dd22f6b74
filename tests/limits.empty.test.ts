// `queue empty` (Admin.empty) over jobs waiting for a running slot of their limit key
// (docs/internals.md, "Rate limits"): each removed one leaves its key's waiting list, so the
// next free wakes a job that is still there. Left in the list, a removed waiter (no outcome, no
// record, not in its delayed set: wake.lua cannot tell it from one not given away yet) was
// woken in vain by each free in turn, and every real waiter behind them waited for its
// fallback, the running slot's expiry (186 s by default), one run per fallback. Against the
// real Redis of tests/preload.ts.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { holdEntries } from "../lib/engine/hold.ts";
import { freeAndWake } from "../lib/engine/key-wake.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { deliver, type EngineQueue, engineQueue } from "./fixtures/plant.ts";
import { redisUrl } from "./helpers.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const o = { horizonMs: 1000, shard: 0 };
const ask = (jobId: string) => ({ jobId, limitKey: "h", slotMs: 186_000 });

/** A runs in h's slot; `waiters` wait for it, given away to the delayed set. */
async function aRuns(v: EngineQueue, waiters: string[]) {
  await writeLimits(v.client, PREFIX_OF(v), "q", { keyConcurrency: 1 });
  const lk = limitKeys(PREFIX_OF(v), "q");
  const ids = ["A", ...waiters];
  for (const id of ids) {
    const f = ["t", "echo", "p", "1", "a", "0", "m", "3", "i", id, "k", "h"];
    await v.r.sendCommand(["XADD", v.k.stream, "*", ...f]);
  }
  const entries = await deliver(v, "w1");
  const got = await reserveSlots(v.client, lk, o, ids.map(ask));
  expect(got.map((g) => g.kind)).toEqual(["start", ...waiters.map(() => "hold" as const)]);
  const held = got
    .slice(1)
    .map((g, i) => ({ entryId: entries[i + 1]!, dueMs: (g as { dueMs: number }).dueMs }));
  await holdEntries(v.client, v.k, "w1", held);
  return lk;
}

async function empty(v: EngineQueue) {
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix: PREFIX_OF(v), queue: "q" });
  try {
    return await admin.empty();
  } finally {
    await admin.close();
  }
}

test("a woken waiter removed from the stream before it was read leaves the waiting list too", async () => {
  await using v = await engineQueue();
  const lk = await aRuns(v, ["B", "C"]);
  // A's end wakes B into the stream (marked woken, its place kept); nobody reads it.
  const woken = await freeAndWake(v.client, lk, () => v.k, {
    ended: [{ jobId: "A", limitKey: "h" }],
  });
  expect(woken.map((w) => w.jobId)).toEqual(["B"]);
  expect(await empty(v)).toEqual({ waiting: 1, delayed: 1, parked: 0 });
  expect(await v.r.sendCommand(["ZRANGE", lk.waiting("h"), "0", "-1"])).toEqual([]);
});

test("jobs removed while waiting for their key's slot leave its waiting list: the next free wakes a job still there", async () => {
  await using v = await engineQueue();
  const lk = await aRuns(v, ["B", "C", "D"]);
  expect((await empty(v)).delayed).toBe(3);
  expect(await v.r.sendCommand(["ZRANGE", lk.waiting("h"), "0", "-1"])).toEqual([]);
  // E, enqueued after, waits for A's slot; A's end wakes E, not a removed job.
  expect((await reserveSlots(v.client, lk, o, [ask("E")]))[0]?.kind).toBe("hold");
  const ended = [{ jobId: "A", limitKey: "h" }];
  const woken = await freeAndWake(v.client, lk, () => v.k, { ended });
  expect(woken.map((w) => w.jobId)).toEqual(["E"]);
});
