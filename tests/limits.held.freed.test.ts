// Held keys are the keys held back now (docs/internals.md, "Rate limits"): a key listed because
// its jobs waited for a running slot leaves the list (or comes down to what else holds it) once
// no job waits for one any more, instead of staying listed till the first running slot's
// expiry (the attempt's time limit and 6 s: three minutes by default). Against the real Redis
// of tests/preload.ts.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { holdKey } from "../lib/engine/hold-key.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { freeSlots, reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { defineTask } from "../lib/types.ts";
import { type EngineQueue, engineQueue } from "./fixtures/plant.ts";
import { openQueue, redisUrl, startWorker, testPrefix } from "./helpers.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const o = { horizonMs: 1000, shard: 0 };
const ask = (jobId: string) => ({ jobId, limitKey: "h", slotMs: 186_000 });

/** Key concurrency 1: A starts, B and C wait for its slot (`h` listed till A's expiry). */
async function busy(v: EngineQueue) {
  await writeLimits(v.client, PREFIX_OF(v), "q", { keyConcurrency: 1 });
  const lk = limitKeys(PREFIX_OF(v), "q");
  const got = await reserveSlots(v.client, lk, o, ["A", "B", "C"].map(ask));
  expect(got.map((g) => g.kind)).toEqual(["start", "hold", "hold"]);
  const score = async () => v.r.sendCommand(["ZSCORE", lk.keys, "h"]);
  expect(Number(await score())).toBeGreaterThan(0);
  return { lk, score };
}

test("a key stays listed while a job waits for its slot, and leaves once none does", async () => {
  await using v = await engineQueue();
  const { lk, score } = await busy(v);
  expect(await freeSlots(v.client, lk, [{ jobId: "A", limitKey: "h" }])).toHaveLength(1);
  expect(await score()).not.toBeNull(); // C still waits
  expect(await reserveSlots(v.client, lk, o, [ask("B")])).toMatchObject([{ kind: "start" }]);
  expect(await freeSlots(v.client, lk, [{ jobId: "B", limitKey: "h" }])).toHaveLength(1);
  expect(await score()).toBeNull(); // C woken: no job waits; h is held back no more
});

test("a key a hold still holds is listed till the hold's end, not its running slot's expiry", async () => {
  await using v = await engineQueue();
  const { lk, score } = await busy(v);
  const end = await holdKey(v.client, lk, "h", 30_000);
  await freeSlots(
    v.client,
    lk,
    [],
    [
      { shard: 0, jobId: "B", limitKey: "h" },
      { shard: 0, jobId: "C", limitKey: "h" },
    ],
  );
  expect(Number(await score())).toBe(end);
});

test("info's held keys: none once the jobs of a busy key have all run", async () => {
  const prefix = testPrefix();
  const job = defineTask<number, null>({ name: "job", run: async () => null });
  await using queue = await openQueue({ prefix, queue: "q" });
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
  await admin.setLimits({ keyConcurrency: 1 });
  const jobs = await queue.enqueueMany(
    Array.from({ length: 4 }, (_, i) => ({ task: job, payload: i, limitKey: "k" })),
  );
  const worker = await startWorker({ prefix, queue: "q", tasks: [job], concurrency: 8 });
  try {
    const done = await queue.waitForJobs(
      jobs.map((j) => j.id),
      { timeoutMs: 10_000 },
    );
    expect(done.pending).toEqual([]);
    expect(await admin.heldKeys()).toEqual([]);
  } finally {
    await worker.stop(1000);
    await admin.close();
  }
});
