// Workers with different tasks share a queue: a worker never spends an attempt on a job whose
// task it lacks; it leaves the job to a worker that has the task, and when no live worker has
// it, the job waits (not dead) and `info`, the dashboard's data and `result` say so.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { infoReader } from "../lib/admin/info.ts";
import { formatInfo } from "../lib/cli/info-text.ts";
import { type QueueKeys, shardKeys, shardOf } from "../lib/engine/keys.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { defineTask } from "../lib/types.ts";
import type { RawRedis } from "./helpers.ts";
import {
  logRecorder,
  openQueue,
  pendingCount,
  rawRedis,
  redisUrl,
  runCli,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

const task = (name: string) => defineTask({ name, run: async (p: unknown) => `${name}:${p}` });

/** Every shard's keys (6 shards in the cluster pass). */
const shardsOf = (q: Queue) => shardKeys(q.options.prefix, q.options.queue, q.shards);
/** The keys of the shard job `id` lives in. */
const keysOf = (q: Queue, id: string) => shardsOf(q)[shardOf(id, q.shards)]!;

/** `read` on every shard, summed. */
async function sum(q: Queue, read: (k: QueueKeys) => Promise<unknown>): Promise<number> {
  let n = 0;
  for (const k of shardsOf(q)) n += Number(await read(k));
  return n;
}
const pending = (r: RawRedis, q: Queue) => sum(q, (k) => pendingCount(r, k));
const deadCount = (r: RawRedis, q: Queue) => sum(q, (k) => r.sendCommand(["XLEN", k.dead]));

describe("workers with different tasks on one queue", () => {
  test("each runs only its own jobs, and no attempt is spent on the others", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    await using r = await rawRedis();
    const ids = { a: [] as string[], b: [] as string[] };
    for (let i = 0; i < 10; i++) {
      ids.a.push(await q.enqueue("a", i));
      ids.b.push(await q.enqueue("b", i));
    }
    // Queued first: each worker's first batch holds jobs of both tasks.
    const fast = { heartbeatEveryMs: 100, concurrency: 4 };
    const wa = await startWorker({ prefix, tasks: [task("a")], ...fast });
    const wb = await startWorker({ prefix, tasks: [task("b")], ...fast });
    // Which worker reads a job is chance, and one left for the other comes back after a
    // back-off (up to 1 s): the wait allows a job a dozen such detours.
    const { ended } = await q.waitForJobs([...ids.a, ...ids.b], { timeoutMs: 15_000 });
    for (const [name, w] of [
      ["a", wa],
      ["b", wb],
    ] as const) {
      for (const [i, id] of ids[name].entries()) {
        // maxAttempts 1: one spent attempt on the wrong worker would have failed it.
        expect(ended.get(id)).toMatchObject({
          status: "finished",
          result: `${name}:${i}`,
          attempts: 1,
          worker: w.name,
        });
        expect(ended.get(id)?.history).toHaveLength(1);
      }
    }
    expect(await deadCount(r, q)).toBe(0);
    expect(await pending(r, q)).toBe(0);
    await Promise.all([wa.stop(), wb.stop()]);
  });

  test("a job taken by a worker without its task, while one that has it is busy, waits for it", async () => {
    const prefix = testPrefix();
    // One shard: on N > 1, busy wb still reads the other shards and holds the job it is
    // delivered until its slot frees (tests/worker.shards.test.ts), so wa never sees it.
    await using q = await openQueue({ prefix, maxAttempts: 1, shards: 1 });
    await using r = await rawRedis();
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const gated = defineTask({ name: "b", run: async (p: number) => (p === 1 ? gate : p) });
    // Reads block for the default 2 s, as in production: the tests' 100 ms makes the two
    // workers' reads keep step with the job's back-off, and the one without the task keep
    // winning the race for it (still without spending an attempt, only slower).
    const read = { blockMs: 2_000, heartbeatEveryMs: 100, shards: 1 };
    const wb = await startWorker({ prefix, tasks: [gated], concurrency: 1, ...read });
    const first = await q.enqueue("b", 1);
    await until(async () => (await q.getJob(first))?.status === "started", "b busy", 5_000);
    const log = logRecorder();
    const wa = await startWorker({ prefix, tasks: [task("a")], logger: log, ...read });
    const id = await q.enqueue("b", 2);
    // wb is busy: wa takes the job, and leaves it (wb is live) without spending an attempt.
    await until(() => log.events().some((e) => e.startsWith("not a task")), "deferred", 5_000);
    // No attempt spent: the record's count is 0, or not written yet (the first deferral re-adds
    // the entry at once and writes no count; the later ones, delayed, write the entry's: 0).
    const [status, attempts] = (await r.sendCommand([
      "HMGET",
      keysOf(q, id).record(id),
      "status",
      "a",
    ])) as [string | null, string | null];
    expect(status).toBe("queued");
    expect([null, "0"]).toContain(attempts);
    expect(await r.sendCommand(["HGET", keysOf(q, id).tasks, "parked:b"])).toBeNull();
    open();
    const { ended } = await q.waitForJobs([first, id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", attempts: 1, worker: wb.name });
    expect(await deadCount(r, q)).toBe(0);
    await Promise.all([wa.stop(), wb.stop()]);
  });

  test("a job whose task no live worker has waits, is reported, and runs once one starts", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    await using r = await rawRedis();
    const log = logRecorder();
    const wa = await startWorker({
      prefix,
      tasks: [task("a")],
      heartbeatEveryMs: 100,
      logger: log,
    });
    const id = await q.enqueue("resize", 1);
    const other = await q.enqueue("a", 2);
    await q.waitForJobs([other], { timeoutMs: 5_000 });
    await until(async () => (await q.getJob(id))?.note !== undefined, "the job parked", 5_000);
    expect(await q.getJob(id)).toMatchObject({
      status: "queued",
      attempts: 0,
      note: 'no live worker has task "resize"',
      history: [],
    });
    expect(await pending(r, q)).toBe(0);
    expect(await deadCount(r, q)).toBe(0);

    // Said by `info` (text and JSON), the dashboard's overview data, and `result`.
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      const report = await infoReader(admin, [admin.options.queue])();
      const queue = report.queues[0]!;
      if ("unreadable" in queue) throw new Error(queue.unreadable);
      expect(queue.unservedTasks).toEqual([{ task: "resize", jobs: 1 }]);
      expect(formatInfo(report)).toContain('no live worker has task "resize": 1 job waits');
      expect(queue.workers[0]!.tasks).toEqual(["a"]);
      expect((await admin.overview()).counts.unservedTasks).toEqual([{ task: "resize", jobs: 1 }]);
    } finally {
      await admin.close();
    }
    const shown = await runCli("result", ["--jobid", id, "--prefix", prefix]);
    expect(shown.stdout).toContain('queued (no live worker has task "resize")');
    const json = await runCli("result", ["--jobid", id, "--prefix", prefix, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: "queued", note: expect.any(String) });

    // Parked, not taken again and again: the worker without the task saw it once.
    const parked = () => log.events().filter((e) => e.startsWith("no live worker")).length;
    await wa.stop();
    expect(parked()).toBe(1);

    const wr = await startWorker({ prefix, tasks: [task("resize")], heartbeatEveryMs: 100 });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", attempts: 1, worker: wr.name });
    expect(ended.get(id)?.note).toBeUndefined();
    const again = await Admin.connect({ redisUrl: redisUrl(), prefix });
    expect((await again.overview()).counts.unservedTasks).toEqual([]);
    await again.close();
    await wr.stop();
  });
});
