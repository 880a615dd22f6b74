// `queue empty` and dependencies (docs/internals.md, "Dependencies and batches", "Empty"): a
// removed job other jobs wait for ends canceled (`while queued, removed by queue empty`), so its
// children follow their onParentFailure (fail with `parent <id> canceled`, or run) instead of
// waiting for ever; a batch's callback whose jobs were removed runs once; a queue of plain jobs
// emptied pays no write per job.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { defineTask, type ParentOutcome } from "../lib/types.ts";
import { shardsOf } from "./fixtures/queue-shards.ts";
import {
  commandCalls,
  openQueue,
  rawRedis,
  redisUrl,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

const ran: string[] = [];
const step = defineTask({
  name: "step",
  run: async (p: { name: string }) => {
    ran.push(p.name);
    return { name: p.name };
  },
});
const collect = defineTask({
  name: "collect",
  run: async (p: { name: string }, ctx) => {
    ran.push(p.name);
    const seen: ParentOutcome[] = [];
    for await (const o of ctx.parents()) seen.push(o);
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

async function emptied(prefix: string) {
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
  try {
    return await admin.empty();
  } finally {
    await admin.close();
  }
}

describe("queue empty and dependencies", () => {
  test("a removed parent (queued, delayed) ends canceled: its children fail or run", async () => {
    const prefix = testPrefix();
    ran.length = 0;
    await using q = await openQueue({ prefix });
    const queued = await q.enqueue(step, { name: "queued" }, { id: "parent-q" });
    const later = await q.enqueue(step, { name: "later" }, { delayMs: 3_600_000 });
    const children = [];
    for (const p of [queued, later]) {
      const fails = await q.enqueue(step, { name: `fails-${p}` }, { dependsOn: [p] });
      const runs = await q.enqueue(
        collect,
        { name: `runs-${p}` },
        { dependsOn: [p], onParentFailure: "run" },
      );
      children.push({ p, fails, runs });
    }
    expect(await emptied(prefix)).toEqual({ waiting: 1, delayed: 1, parked: 0 });
    expect(await q.getJob(queued)).toMatchObject({
      status: "canceled",
      note: "while queued, removed by queue empty",
    });
    expect(await q.getJob(later)).toMatchObject({
      status: "canceled",
      note: "while scheduled, removed by queue empty",
    });
    // The caller id stays taken while the outcome is kept: no second job under it.
    await q.enqueue(step, { name: "again" }, { id: "parent-q" });
    expect(await q.getJob(queued)).toMatchObject({ status: "canceled" });

    const w = await startWorker({ prefix, tasks: [step, collect] });
    try {
      for (const { p, fails, runs } of children) {
        expect(await ended(q, fails)).toMatchObject({
          status: "failed",
          error: `parent ${p} canceled`,
          attempts: 0,
        });
        const done = await ended(q, runs);
        expect(done?.status).toBe("finished");
        expect(done?.result).toEqual([{ id: p, status: "canceled", result: null, error: null }]);
      }
    } finally {
      await w.stop(1000);
    }
    expect(ran.sort()).toEqual([`runs-${later}`, `runs-${queued}`].sort());
  });

  test("a parked parent and a high one end canceled too: their children fail or run", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const parked = await q.enqueue("resize", { w: 1 });
    const fails = await q.enqueue(step, { name: "fails" }, { dependsOn: [parked] });
    // A worker without the task parks it.
    const parker = await startWorker({ prefix, tasks: [collect] });
    try {
      const parkedNow = async () =>
        (await q.getJob(parked))?.note?.startsWith("no live worker") === true;
      await until(parkedNow, "the job parked");
    } finally {
      await parker.stop(1000);
    }
    const high = await q.enqueue(step, { name: "high" }, { priority: "high" });
    const runs = await q.enqueue(
      collect,
      { name: "runs" },
      { dependsOn: [high], onParentFailure: "run" },
    );
    expect(await emptied(prefix)).toEqual({ waiting: 1, delayed: 0, parked: 1 });
    expect(await q.getJob(high)).toMatchObject({
      status: "canceled",
      note: "while queued, removed by queue empty",
    });
    expect(await q.getJob(parked)).toMatchObject({
      status: "canceled",
      note: "while parked, removed by queue empty",
    });
    const w = await startWorker({ prefix, tasks: [step, collect] });
    try {
      expect(await ended(q, fails)).toMatchObject({ error: `parent ${parked} canceled` });
      const done = await ended(q, runs);
      expect(done?.result).toEqual([{ id: high, status: "canceled", result: null, error: null }]);
    } finally {
      await w.stop(1000);
    }
  });

  test("a batch whose jobs were removed: its callback runs once, reading them canceled", async () => {
    const prefix = testPrefix();
    let runs = 0;
    const summary = defineTask({
      name: "summary",
      run: async (_: unknown, ctx) => {
        runs++;
        const seen: ParentOutcome[] = [];
        for await (const p of ctx.parents()) seen.push(p);
        return seen.map((p) => p.status);
      },
    });
    await using q = await openQueue({ prefix });
    const specs = Array.from({ length: 30 }, (_, i) => ({
      task: step,
      payload: { name: `b${i}` },
    }));
    // biome-ignore lint/suspicious/noThenProperty: the option's name; a JobSpec, never a function
    const { ids, callbackId } = await q.enqueueBatch(specs, { then: { task: summary } });
    expect(await emptied(prefix)).toEqual({ waiting: 30, delayed: 0, parked: 0 });
    const w = await startWorker({ prefix, tasks: [step, summary] });
    try {
      const done = await ended(q, callbackId);
      expect(done).toMatchObject({ status: "finished" });
      expect(done?.result).toEqual(ids.map(() => "canceled"));
    } finally {
      await w.stop(1000);
    }
    expect(runs).toBe(1);
  });

  test("plain jobs emptied: no outcome, no record, no write per job", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push(await q.enqueue(step, { name: `p${i}` }, { id: `plain-${i}` }));
    for (let i = 0; i < 5; i++)
      ids.push(await q.enqueue(step, { name: `d${i}` }, { delayMs: 3_600_000 }));
    const sets = await commandCalls(r, "set");
    const looks = await commandCalls(r, "smismember");
    expect(await emptied(prefix)).toEqual({ waiting: 20, delayed: 5, parked: 0 });
    // One look per script call (a shard and level each), none per job; no outcome written.
    expect(await commandCalls(r, "set")).toBe(sets);
    expect((await commandCalls(r, "smismember")) - looks).toBeLessThanOrEqual(
      shardsOf(q).length * 3,
    );
    for (const id of ids) expect(await q.getJob(id)).toBeNull();
    for (const k of shardsOf(q)) expect(await r.sendCommand(["EXISTS", k.endedParents])).toBe(0);
  });
});
