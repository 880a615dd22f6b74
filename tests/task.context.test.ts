// A task's context (TaskContext): what a task run by a real worker sees as its second argument
// (the AbortSignal itself, with the job's id, attempt, logger and progress), and how progress
// reaches Redis: coalesced, on the job's shard, shown while the job runs, told to waiters.
import { describe, expect, test } from "bun:test";
import { writeProgress } from "../lib/engine/progress.ts";
import { RetryableError } from "../lib/errors.ts";
import type { Queue } from "../lib/queue/queue.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { defineTask, type TaskContext } from "../lib/types.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import {
  logRecorder,
  openQueue,
  type RawRedis,
  rawRedis,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

/** The progress events of job `id` in its shard's events stream, values parsed. */
async function progressEvents(r: RawRedis, q: Queue, id: string): Promise<unknown[]> {
  const entries = (await r.sendCommand(["XRANGE", keysOf(q, id).events, "-", "+"])) as [
    string,
    string[],
  ][];
  const values: unknown[] = [];
  for (const [, f] of entries) {
    const m = new Map<string, string>();
    for (let i = 0; i < f.length; i += 2) m.set(f[i]!, f[i + 1]!);
    if (m.get("type") === "progress" && m.get("id") === id)
      values.push(JSON.parse(m.get("value")!));
  }
  return values;
}

/** A promise and the function that resolves it: a task waits on it for the test's word. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe("task context", () => {
  test("a task sees its signal, job id, attempts and a logger bound to the job, on a retry too", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 3 });
    const log = logRecorder();
    const seen: Record<string, unknown>[] = [];
    const task = defineTask({
      name: "ctx",
      run: async (p: { n: number }, ctx: TaskContext) => {
        seen.push({
          isSignal: ctx instanceof AbortSignal,
          self: ctx.signal === ctx,
          id: ctx.id,
          task: ctx.task,
          attempt: ctx.attempt,
          maxAttempts: ctx.maxAttempts,
        });
        ctx.log("info", "task step", { n: p.n, attempt: ctx.attempt });
        if (ctx.attempt === 1) throw new RetryableError("first try fails");
        return ctx.attempt;
      },
    });
    const w = await startWorker({ prefix, tasks: [task], logger: log });
    const id = await q.enqueue("ctx", { n: 7 });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", result: 2 });
    const fact = { isSignal: true, self: true, id, task: "ctx", maxAttempts: 3 };
    expect(seen).toEqual([
      { ...fact, attempt: 1 },
      { ...fact, attempt: 2 },
    ]);
    const lines = log.records.filter((l) => l.event === "task step");
    // (A worker of several shards' logger adds the shard.)
    expect(lines.map((l) => l.fields)).toEqual([
      expect.objectContaining({ n: 7, attempt: 1, job: id, task: "ctx" }),
      expect.objectContaining({ n: 7, attempt: 2, job: id, task: "ctx" }),
    ]);
    await w.stop();
  }, 20_000);

  test("the old (payload, signal) form gets the attempt's signal: a time limit aborts it", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    const reasons: unknown[] = [];
    const task = defineTask({
      name: "old",
      timeoutMs: 100,
      run: (_: unknown, signal: AbortSignal) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener("abort", () => {
            reasons.push(signal.reason?.name);
            reject(signal.reason);
          }),
        ),
    });
    const w = await startWorker({ prefix, tasks: [task] });
    const id = await q.enqueue("old", null);
    const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
    expect(ended.get(id)?.status).toBe("failed");
    expect(reasons).toEqual(["JobTimeoutError"]);
    await w.stop();
  }, 20_000);

  test("bad progress values throw a TypeError in the task; the job goes on", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    const bad = [101, -1, Number.NaN, "50%", null, [1], { big: "x".repeat(1100) }];
    const task = defineTask({
      name: "bad",
      run: async (_: unknown, ctx: TaskContext) =>
        bad.map((v) => {
          try {
            ctx.progress(v as number);
            return "accepted";
          } catch (err) {
            return `${(err as Error).name}: ${(err as Error).message}`;
          }
        }),
    });
    const w = await startWorker({ prefix, tasks: [task] });
    const id = await q.enqueue("bad", null);
    const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
    expect(ended.get(id)?.result).toEqual([
      "TypeError: progress must be a number from 0 to 100, got 101",
      "TypeError: progress must be a number from 0 to 100, got -1",
      "TypeError: progress must be a number from 0 to 100, got NaN",
      "TypeError: progress must be a number from 0 to 100 or a JSON object, got string",
      "TypeError: progress must be a number from 0 to 100 or a JSON object, got null",
      "TypeError: progress must be a number from 0 to 100 or a JSON object, got an array",
      "TypeError: progress is 1110 bytes of JSON, more than 1024",
    ]);
    await w.stop();
  }, 20_000);
});

describe("progress", () => {
  test("10,000 reports in a tight loop make a bounded number of writes, the last one kept", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    await using r = await rawRedis();
    const intervalMs = 50;
    const { opened, open } = gate();
    let loopMs = 0;
    const task = defineTask({
      name: "loop",
      run: async (_: unknown, ctx: TaskContext) => {
        const start = performance.now();
        for (let i = 1; i <= 10_000; i++) ctx.progress(i / 100);
        ctx.progress({ step: "last", done: 10_000 });
        loopMs = performance.now() - start;
        await opened; // until the test has seen the last value written
        return "done";
      },
    });
    const w = await startWorker({ prefix, tasks: [task], progressMinIntervalMs: intervalMs });
    const id = await q.enqueue("loop", null);
    let job = await q.getJob(id);
    await until(async () => {
      job = await q.getJob(id);
      return (job?.progress as { step?: string } | null)?.step === "last";
    }, "the last progress shown");
    expect(job).toMatchObject({ status: "started", progress: { step: "last", done: 10_000 } });
    const events = await progressEvents(r, q, id);
    // The first report is written at once, then at most one per interval: the loop's time
    // bounds how many there can be, and the last value is the last written.
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.length).toBeLessThanOrEqual(2 + Math.ceil(loopMs / intervalMs));
    expect(events[0]).toBe(0.01);
    expect(events.at(-1)).toEqual({ step: "last", done: 10_000 });
    const ttl = Number(await r.sendCommand(["TTL", keysOf(q, id).progress(id)]));
    expect(ttl).toBeGreaterThan(0);
    open();
    const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
    // An ended job shows its result, not its progress.
    expect(ended.get(id)).toMatchObject({ status: "finished", progress: null });
    expect((await q.getJob(id))?.progress).toBeNull();
    await w.stop();
  }, 20_000);

  test("a report that reaches Redis after the job's outcome is dropped: no progress after the end", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    await using r = await rawRedis();
    const task = defineTask({
      name: "quick",
      run: async (_: unknown, ctx: TaskContext) => {
        ctx.progress(10); // sent at once; the outcome may not overtake it (another connection)
        const written = async () =>
          (await r.sendCommand(["EXISTS", keysOf(q, ctx.id).progress(ctx.id)])) === 1;
        await until(written, "the progress written");
        return "ok";
      },
    });
    const w = await startWorker({ prefix, tasks: [task] });
    const id = await q.enqueue("quick", null);
    await q.waitForJobs([id], { timeoutMs: 10_000 });
    await w.stop();
    expect(await progressEvents(r, q, id)).toEqual([10]);
    // A write still on its way when the job ended (a report coalesced, sent late) finds the
    // outcome and writes nothing.
    const client = r as unknown as Redis;
    expect(await writeProgress(client, keysOf(q, id), id, "90", 60, 100)).toBe(false);
    expect(await progressEvents(r, q, id)).toEqual([10]);
    expect(await r.sendCommand(["GET", keysOf(q, id).progress(id)])).toBe("10");
  }, 20_000);

  test("a waiter is told each progress the job reports, then its end", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    const steps = [gate(), gate(), gate()];
    const told: unknown[] = [];
    const task = defineTask({
      name: "steps",
      run: async (_: unknown, ctx: TaskContext) => {
        for (const [i, step] of steps.entries()) {
          ctx.progress({ step: i + 1 });
          await step.opened; // the test opens it once the waiter has been told this step
        }
        return "done";
      },
    });
    const w = await startWorker({ prefix, tasks: [task], progressMinIntervalMs: 1 });
    const id = await q.enqueue("steps", null);
    const waiting = q.waitForJobs([id], {
      timeoutMs: 15_000,
      onJobProgress: (jobId, value) => {
        expect(jobId).toBe(id);
        // A wait may tell a value twice (a look at the job after a quiet read): counted once.
        if (JSON.stringify(value) === JSON.stringify(told.at(-1))) return;
        told.push(value);
        steps[told.length - 1]?.open();
      },
    });
    const { ended } = await waiting;
    expect(told).toEqual([{ step: 1 }, { step: 2 }, { step: 3 }]);
    expect(ended.get(id)?.status).toBe("finished");
    await w.stop();
  }, 20_000);
});
