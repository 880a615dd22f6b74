// The wake of a key's next waiter is not lost (docs/internals.md, "Rate limits"): a graceful
// stop waits for the running slots its ended jobs freed, and their waiters' wakes, before it
// closes the connection they go through; a wake that fails gives the waiter its place back
// unwoken, so the next free wakes it first. Otherwise the waiter waits for its fallback (the
// first running slot's expiry, minutes) and runs after the waiters behind it. Against the real
// Redis of tests/preload.ts.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { freeAndWake } from "../lib/engine/key-wake.ts";
import { limitKeys, shardKeys, shardOf } from "../lib/engine/keys.ts";
import { freeSlots, reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { defineTask } from "../lib/types.ts";
import { type EngineQueue, engineQueue } from "./fixtures/plant.ts";
import {
  logRecorder,
  oneShardFile,
  openQueue,
  rawRedis,
  redisUrl,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

oneShardFile();

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const o = { horizonMs: 1000, shard: 0 };
const ask = (jobId: string) => ({ jobId, limitKey: "h", slotMs: 186_000 });

test("a wake that fails leaves its waiter unwoken, first in line for the next free", async () => {
  await using v = await engineQueue();
  await writeLimits(v.client, PREFIX_OF(v), "q", { keyConcurrency: 1 });
  const lk = limitKeys(PREFIX_OF(v), "q");
  const got = await reserveSlots(v.client, lk, o, ["A", "B", "C"].map(ask));
  expect(got.map((g) => g.kind)).toEqual(["start", "hold", "hold"]);
  // The shard's delayed set holds another type: wake.lua fails (a shard refusing the wake).
  await v.r.sendCommand(["SET", v.k.delayed, "not a zset"]);
  const ended = [{ jobId: "A", limitKey: "h" }];
  await expect(freeAndWake(v.client, lk, () => v.k, { ended })).rejects.toThrow(/WRONGTYPE/);
  expect(Number(await v.r.sendCommand(["ZSCORE", lk.waiting("h"), "0|B"]))).toBeGreaterThan(0);
  // The next free (the delayed set usable again) wakes B, not C behind it.
  await v.r.sendCommand(["DEL", v.k.delayed]);
  expect(await freeSlots(v.client, lk, [], [], undefined, ["h"])).toEqual([
    { shard: 0, jobId: "B", limitKey: "h" },
  ]);
});

/** The first job runs till the stop aborts it; the second waits for its key's one slot. */
const job = defineTask<{ hang: boolean }, null>({
  name: "job",
  run: async (p, ctx) => {
    if (p.hang) await new Promise((end) => ctx.signal.addEventListener("abort", end));
    return null;
  },
});

const NOT_FREED = "could not free rate-limit slots (they free themselves later)";

/** Queue "q" (of `shards`) with a key concurrency of 1. */
async function keyedQueue(prefix: string, shards?: number): Promise<Queue> {
  const queue = await openQueue({ prefix, queue: "q", ...(shards && { shards }) });
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
  await admin.setLimits({ keyConcurrency: 1 });
  await admin.close();
  return queue;
}

/**
 * A worker (`worker`'s queue and shards) running `first`, a job of key k that hangs, and the
 * second job of k it then holds for the key's slot; `held` says whether it still waits.
 */
async function secondHeld(queue: Queue, first: string, worker: { queue: string; shards?: number }) {
  const prefix = queue.options.prefix;
  const log = logRecorder();
  const w = await startWorker({
    ...{ prefix, tasks: [job], concurrency: 4, logger: log, shutdownGraceMs: 100 },
    ...worker,
  });
  await until(async () => (await queue.getJob(first))?.status === "started", "the first job");
  const second = await queue.enqueue(job, { hang: false }, { limitKey: "k" });
  const keys = shardKeys(prefix, "q", worker.shards ?? 1);
  const held = async () => {
    for (const k of keys) {
      const score = await queue.client.sendCommand(["ZSCORE", k.delayed, second]);
      if (score !== null) return true;
    }
    return false;
  };
  await until(held, "the second job held for the key's slot");
  return { worker: w, log, held };
}

test("a graceful stop wakes the next waiter of the key its last job freed before it closes", async () => {
  await using queue = await keyedQueue(testPrefix());
  const first = await queue.enqueue(job, { hang: true }, { limitKey: "k" });
  const { worker, log, held } = await secondHeld(queue, first, { queue: "q" });
  // As after a Redis restart: every script is loaded again, the frees' two among them.
  await using r = await rawRedis();
  await r.sendCommand(["SCRIPT", "FLUSH"]);
  await worker.stop(100);
  // Woken before the stop ended: back in its stream, not left till the slot's expiry (186 s).
  expect(await held()).toBe(false);
  expect(log.events()).not.toContain(NOT_FREED);
});

test("a stop frees through the shared connection after every shard's jobs ended: a job on shard 1 outlives shard 0's stop", async () => {
  const prefix = testPrefix();
  // Two shards: the frees of both go through shard 0's command connection (the worker's shared
  // one), which shard 0's stop closed at once, having no job, before shard 1's job ended.
  await using queue = await keyedQueue(prefix, 2);
  const onShard1 = ["a", "b", "c", "d", "e", "f"].find((id) => shardOf(id, 2) === 1)!;
  const first = await queue.enqueue(job, { hang: true }, { limitKey: "k", id: onShard1 });
  const [shard0, shard1] = shardKeys(prefix, "q", 2);
  await using r = await rawRedis();
  expect([
    await r.sendCommand(["XLEN", shard0!.stream]),
    await r.sendCommand(["XLEN", shard1!.stream]),
  ]).toEqual([0, 1]);
  const { worker, log, held } = await secondHeld(queue, first, { queue: "q", shards: 2 });
  await worker.stop(100);
  expect(log.events()).not.toContain(NOT_FREED);
  // Woken before the stop ended, not left till the first job's slot expires (186 s).
  expect(await held()).toBe(false);
});

test("a worker of several queues frees another queue's slots before the shared connection closes", async () => {
  // Queue a's shard is the worker's first: its command connection frees q's slots too, and
  // its stop (no job of its own) closed it before q's job ended.
  await using queue = await keyedQueue(testPrefix());
  const first = await queue.enqueue(job, { hang: true }, { limitKey: "k" });
  const { worker, log, held } = await secondHeld(queue, first, { queue: "a,q" });
  await worker.stop(100);
  expect(log.events()).not.toContain(NOT_FREED);
  // Woken before the stop ended, not left till the first job's slot expires (186 s).
  expect(await held()).toBe(false);
});
