// Dependencies and batches through the library and real workers (docs/internals.md,
// "Dependencies and batches"): a child runs after its parents; a parent that fails for good
// fails its child (or the child runs anyway); a batch's callback runs once with every outcome.
import { describe, expect, test } from "bun:test";
import type { Queue } from "../lib/queue/queue.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { runTask } from "../lib/testing.ts";
import { defineTask, type ParentOutcome } from "../lib/types.ts";
import { deliverJob, finishJob } from "./fixtures/flows.ts";
import { openQueue, rawRedis, startWorker, testPrefix, until } from "./helpers.ts";

const order: string[] = [];
const step = defineTask({
  name: "step",
  run: async (p: { name: string; fail?: boolean }) => {
    order.push(p.name);
    if (p.fail) throw new Error(`${p.name} broke`);
    return { name: p.name };
  },
});
const collect = defineTask({
  name: "collect",
  run: async (_: unknown, ctx) => {
    const seen: ParentOutcome[] = [];
    for await (const p of ctx.parents()) seen.push(p);
    return seen;
  },
});

async function ended(q: Queue, id: string) {
  await until(async () => {
    const s = (await q.getJob(id))?.status;
    return s === "finished" || s === "failed" || s === "canceled";
  }, `job ${id} to end`);
  return q.getJob(id);
}

describe("dependencies", () => {
  test("a child waits for its parents, then runs and reads their outcomes", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const a = await q.enqueue(step, { name: "a" });
    const b = await q.enqueue(step, { name: "b" }, { id: "parent-b" });
    const child = await q.enqueue(collect, {}, { dependsOn: [a, b] });
    expect(await q.getJob(child)).toMatchObject({ status: "waiting-for-parents", task: "collect" });
    const w = await startWorker({ prefix, tasks: [step, collect] });
    try {
      const done = await ended(q, child);
      expect(done).toMatchObject({ status: "finished" });
      expect(done?.result).toEqual([
        { id: a, status: "finished", result: { name: "a" }, error: null },
        { id: b, status: "finished", result: { name: "b" }, error: null },
      ]);
    } finally {
      await w.stop(1000);
    }
  });
});

describe("through workers", () => {
  test("a parent dead-lettered fails its child; a child that runs anyway runs", async () => {
    const prefix = testPrefix();
    order.length = 0;
    await using q = await openQueue({ prefix });
    const p = await q.enqueue(step, { name: "p", fail: true }, { maxAttempts: 2 });
    const failing = await q.enqueue(step, { name: "never" }, { dependsOn: [p] });
    const anyway = await q.enqueue(collect, {}, { dependsOn: [p], onParentFailure: "run" });
    const w = await startWorker({ prefix, tasks: [step, collect] });
    try {
      expect(await ended(q, failing)).toMatchObject({
        status: "failed",
        error: `parent ${p} failed`,
        attempts: 0,
      });
      const ran = await ended(q, anyway);
      expect(ran?.result).toEqual([{ id: p, status: "failed", result: null, error: "p broke" }]);
      expect(order).toEqual(["p", "p"]); // the failing child never ran
    } finally {
      await w.stop(1000);
    }
  });
});

describe("batches", () => {
  test("the callback runs once after every job, with each outcome, a failure included", async () => {
    const prefix = testPrefix();
    let runs = 0;
    const summary = defineTask({
      name: "summary",
      run: async (_: unknown, ctx) => {
        runs++;
        const seen: ParentOutcome[] = [];
        for await (const p of ctx.parents()) seen.push(p);
        return { count: seen.length, failed: seen.filter((p) => p.status === "failed").length };
      },
    });
    await using q = await openQueue({ prefix });
    const specs = Array.from({ length: 250 }, (_, i) => ({
      task: step,
      payload: { name: `n${i}`, fail: i === 7 },
      maxAttempts: 1,
    }));
    // biome-ignore lint/suspicious/noThenProperty: the option's name; a JobSpec, never a function
    const { ids, callbackId } = await q.enqueueBatch(specs, { then: { task: summary } });
    expect(ids).toHaveLength(250);
    // Two workers share the batch: its last jobs end on either, at about the same time.
    const w1 = await startWorker({ prefix, tasks: [step, summary], concurrency: 8 });
    const w2 = await startWorker({ prefix, tasks: [step, summary], concurrency: 8 });
    try {
      const done = await ended(q, callbackId);
      expect(done).toMatchObject({ status: "finished", result: { count: 250, failed: 1 } });
      await q.waitForJobs(ids, { timeoutMs: 10_000 });
      expect(runs).toBe(1);
    } finally {
      await Promise.all([w1.stop(1000), w2.stop(1000)]);
    }
    expect(runs).toBe(1);
  });
});

describe("a large batch", () => {
  test("2,500 jobs (chunks of 1,000 parents): the callback reads every outcome, in order", async () => {
    const prefix = testPrefix();
    const noop = defineTask({ name: "noop", run: async (n: number) => n });
    const tally = defineTask({
      name: "tally",
      run: async (_: unknown, ctx) => {
        let count = 0;
        let inOrder = true;
        for await (const p of ctx.parents()) {
          inOrder &&= p.status === "finished" && p.result === count;
          count++;
        }
        return { count, inOrder };
      },
    });
    await using q = await openQueue({ prefix });
    async function* specs() {
      for (let n = 0; n < 2_500; n++) yield { task: noop, payload: n };
    }
    // biome-ignore lint/suspicious/noThenProperty: the option's name; a JobSpec, never a function
    const { ids, callbackId } = await q.enqueueBatch(specs(), { then: { task: tally } });
    expect(ids).toHaveLength(2_500);
    const w = await startWorker({ prefix, tasks: [noop, tally], concurrency: 32 });
    try {
      const done = await ended(q, callbackId);
      expect(done).toMatchObject({ status: "finished", result: { count: 2_500, inOrder: true } });
    } finally {
      await w.stop(1000);
    }
  });
});

describe("burst mode", () => {
  test("a burst worker runs a batch's callback before it stops", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const specs = Array.from({ length: 40 }, (_, i) => ({
      task: step,
      payload: { name: `b${i}` },
    }));
    // biome-ignore lint/suspicious/noThenProperty: the option's name; a JobSpec, never a function
    const { callbackId } = await q.enqueueBatch(specs, { then: { task: collect } });
    const w = await startWorker({ prefix, tasks: [step, collect], burst: true, concurrency: 4 });
    await w.stopped;
    expect(await q.getJob(callbackId)).toMatchObject({ status: "finished" });
  });

  test("a burst worker finds a parent ended elsewhere and not yet drained: it runs the child, then stops", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const p = await q.enqueue(step, { name: "elsewhere" });
    const child = await q.enqueue(collect, {}, { dependsOn: [p] });
    // Another worker ran the parent and died before draining: its stream is empty now.
    const { k, entry } = await deliverJob(r as unknown as Redis, q, p, "gone-worker");
    await finishJob(r as unknown as Redis, k, entry);
    // Its first drain comes after 1 s, long after a first empty read (blockMs 100): only the
    // exit test's look at ended-parents keeps it from stopping before the child is released.
    const w = await startWorker({
      prefix,
      tasks: [step, collect],
      burst: true,
      promoteEveryMs: 1000,
    });
    await w.stopped;
    expect(await q.getJob(child)).toMatchObject({ status: "finished" });
  });
});

describe("runTask", () => {
  test("ctx.parents() yields the outcomes given, in order, as copies", async () => {
    const given = [
      { id: "a", status: "finished" as const, result: { words: 3 }, error: null },
      { id: "b", status: "failed" as const, result: null, error: "404" },
    ];
    const run = await runTask(collect, {}, { parents: given });
    expect(run).toMatchObject({ ok: true, result: given });
    expect(await runTask(collect, {})).toMatchObject({ ok: true, result: [] });
  });
});
