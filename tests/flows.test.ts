// Dependencies and batches through the library and real workers (docs/internals.md,
// "Dependencies and batches"): a child runs after its parents; a parent that fails for good
// fails its child (or the child runs anyway); a batch's callback runs once with every outcome.
import { describe, expect, test } from "bun:test";
import type { Queue } from "../lib/queue/queue.ts";
import { defineTask, type ParentOutcome } from "../lib/types.ts";
import { openQueue, startWorker, testPrefix, until } from "./helpers.ts";

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
    const w = await startWorker({ prefix, tasks: [step, summary], concurrency: 8 });
    try {
      const done = await ended(q, callbackId);
      expect(done).toMatchObject({ status: "finished", result: { count: 250, failed: 1 } });
      expect(runs).toBe(1);
    } finally {
      await w.stop(1000);
    }
  });
});
