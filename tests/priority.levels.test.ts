// Priority levels within one queue through the library (JobSpec.priority): a mixed batch split
// by level, the made ids, getJob's priority, a high job's retry kept at high, a requeued high
// letter back at normal. lib/engine/keys.ts levelKeys, docs/internals.md "Priority levels".
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { levelKeys, shardKeys, shardOf } from "../lib/engine/keys.ts";
import { InputError } from "../lib/errors.ts";
import { createLogger } from "../lib/log.ts";
import type { JobSpec } from "../lib/queue/prepare.ts";
import { defineTask } from "../lib/types.ts";
import {
  logRecorder,
  openQueue,
  rawRedis,
  redisUrl,
  startWorker,
  testPrefix,
  testShards,
  until,
} from "./helpers.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The keys of job `id`'s shard of the default queue at `level`. */
function keysOf(prefix: string, id: string, level: "high" | "normal" | "low") {
  const n = testShards() ?? 1;
  return levelKeys(shardKeys(prefix, "default", n)[shardOf(id, n)]!, level);
}

describe("JobSpec.priority", () => {
  test("a mixed batch: each job in its level's stream, high and low ones given made ids", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const out = await q.enqueueMany([
      { task: "t", payload: 1, priority: "high" },
      { task: "t", payload: 2 },
      { task: "t", payload: 3, priority: "low" },
      { task: "t", payload: 4, priority: "high", id: "mine-4" },
      { task: "t", payload: 5, priority: "normal" },
    ]);
    expect(out[0]!.id).toMatch(UUID);
    expect(out[2]!.id).toMatch(UUID);
    expect(out[3]!.id).toBe("mine-4");
    await using r = await rawRedis();
    const levels = ["high", undefined, "low", "high", undefined] as const;
    for (const [i, job] of out.entries()) {
      const got = await q.getJob(job.id);
      expect(got).toMatchObject({ status: "queued", payload: i + 1 });
      expect(got?.priority).toBe(levels[i]);
      const entries = (await r.sendCommand([
        ...["XRANGE", keysOf(prefix, job.id, levels[i] ?? "normal").stream, "-", "+"],
      ])) as [string, string[]][];
      expect(entries.some(([, f]) => f.includes(JSON.stringify(i + 1)))).toBe(true);
    }
  });

  test("a bad priority is refused before anything is sent", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const bad = { task: "t", priority: "urgent" } as unknown as JobSpec;
    await expect(q.enqueue("t", null, { priority: bad.priority })).rejects.toBeInstanceOf(
      InputError,
    );
    await expect(q.enqueueMany([bad])).rejects.toThrow(
      'priority must be high, normal or low, got "urgent"',
    );
  });

  test("a high job's retry waits in high's delayed set and runs again at high", async () => {
    const prefix = testPrefix();
    let runs = 0;
    const task = defineTask({
      name: "flaky",
      run: async () => {
        if (++runs === 1) throw new Error("first run fails");
        return "ok";
      },
    });
    await using q = await openQueue({ prefix });
    const { id } = (await q.enqueueMany([{ task: "flaky", priority: "high" }]))[0]!;
    // A long back-off: the retry waits until the test makes it due.
    const w = await startWorker({ prefix, tasks: [task], backoffBaseMs: 600_000 });
    await until(async () => (await q.getJob(id))?.status === "retrying", "the retry");
    await using r = await rawRedis();
    const high = keysOf(prefix, id, "high");
    expect(await r.sendCommand(["ZSCORE", high.delayed, id])).not.toBeNull();
    expect(await r.sendCommand(["ZSCORE", keysOf(prefix, id, "normal").delayed, id])).toBeNull();
    expect((await q.getJob(id))?.priority).toBe("high");
    await r.sendCommand(["ZADD", high.delayed, "0", id]); // due now: promoted to high's stream
    await until(async () => (await q.getJob(id))?.status === "finished", "the second run");
    expect(await q.getJob(id)).toMatchObject({ status: "finished", priority: "high", attempts: 2 });
    await w.stop();
  });

  test("a worker started before the queue's first high job says so once, naming the queue", async () => {
    const prefix = testPrefix();
    const log = logRecorder();
    const noop = defineTask({ name: "t", run: async () => null });
    await using q = await openQueue({ prefix });
    await q.enqueue("t", 1);
    const w = await startWorker({ prefix, tasks: [noop], logger: log, heartbeatEveryMs: 20 });
    const warning = "queue has high or low priority jobs now: restart the worker to run them";
    await q.enqueue("t", 2, { priority: "high" });
    await until(() => log.events().includes(warning), "the warning");
    const said = log.records.filter((r) => r.event === warning);
    expect(said.map((r) => r.fields)).toEqual([{ queue: "default" }]);
    await w.stop();
    // Restarted, it serves the levels: the high job runs.
    const again = await startWorker({ prefix, tasks: [noop] });
    const [id] = (await q.enqueueMany([{ task: "t", priority: "high" }])).map((j) => j.id);
    await until(async () => (await q.getJob(id!))?.status === "finished", "the high job");
    await again.stop();
  });

  test("a dead high job requeued comes back at normal (its record's priority dropped)", async () => {
    const prefix = testPrefix();
    let runs = 0;
    const task = defineTask({
      name: "once-bad",
      run: async () => {
        if (++runs === 1) throw new Error("bad");
        return "ok";
      },
    });
    await using q = await openQueue({ prefix });
    const spec = { task: "once-bad", priority: "high" as const, maxAttempts: 1 };
    const { id } = (await q.enqueueMany([spec]))[0]!;
    const w = await startWorker({ prefix, tasks: [task] });
    await until(async () => (await q.getJob(id))?.status === "failed", "the job dead");
    expect((await q.getJob(id))?.priority).toBe("high");
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, shards: testShards() });
    try {
      expect(await admin.requeue([id])).toEqual([{ id, verdict: "requeued" }]);
    } finally {
      await admin.close();
    }
    await until(async () => (await q.getJob(id))?.status === "finished", "the requeued run");
    const job = await q.getJob(id);
    expect(job?.priority).toBeUndefined();
    await using r = await rawRedis();
    expect(
      await r.sendCommand(["HGET", keysOf(prefix, id, "normal").record(id), "priority"]),
    ).toBeNull();
    await w.stop();
  });

  test("a high job no live worker can run is parked at high, and runs there once one can", async () => {
    const prefix = testPrefix();
    const other = defineTask({ name: "t", run: async () => null });
    const later = defineTask({ name: "later", run: async () => "done" });
    await using q = await openQueue({ prefix });
    await q.enqueue("t", 0); // the queue exists before the worker: it reads the levels once marked
    await q.enqueue("t", 0, { priority: "low" });
    const a = await startWorker({ prefix, tasks: [other] });
    const { id } = (await q.enqueueMany([{ task: "later", priority: "high" }]))[0]!;
    await until(async () => (await q.getJob(id))?.note !== undefined, "the job parked");
    await using r = await rawRedis();
    const high = keysOf(prefix, id, "high");
    expect(await r.sendCommand(["ZSCORE", `${high.parkedPrefix}later`, id])).not.toBeNull();
    const b = await startWorker({ prefix, tasks: [later] });
    // Until b takes it, worker a may read it and defer it again (up to 1 s a time): a loaded
    // machine has taken over 10 s.
    const ran = async () => (await q.getJob(id))?.status === "finished";
    await until(ran, "the parked job run", 25_000);
    expect(await q.getJob(id)).toMatchObject({
      status: "finished",
      priority: "high",
      result: "done",
    });
    await Promise.all([a.stop(), b.stop()]);
  });
});

test("a worker's heartbeat counts the jobs of every level it ran", async () => {
  const prefix = testPrefix();
  const t = defineTask({ name: "t", run: async (n: number) => n });
  await using q = await openQueue({ prefix });
  // The queue has its levels before the worker starts: it serves them.
  const made = await q.enqueueMany([
    { task: "t", payload: 1, priority: "high" },
    { task: "t", payload: 2, priority: "low" },
    { task: "t", payload: 3 },
  ]);
  const name = `w-levels-${prefix}`;
  const w = await startWorker({ prefix, tasks: [t], name, heartbeatEveryMs: 50 });
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
  try {
    await q.waitForJobs(
      made.map((j) => j!.id),
      { timeoutMs: 10_000 },
    );
    const processed = async () =>
      (await admin.workers()).filter((x) => x.name === name).reduce((n, x) => n + x.processed, 0);
    await until(async () => (await processed()) === 3, "the heartbeat to count all three");
  } finally {
    await admin.close();
    await w.stop();
  }
});

test("a high job's log lines keep their log level, the job's level said as priority", async () => {
  const prefix = testPrefix();
  const t = defineTask({ name: "t", run: async (n: number) => n });
  await using q = await openQueue({ prefix });
  const [made] = await q.enqueueMany([{ task: "t", payload: 1, priority: "high" }]);
  const lines: string[] = [];
  const logger = createLogger("json", (line) => lines.push(line));
  const w = await startWorker({ prefix, tasks: [t], logger });
  try {
    await q.waitForJobs([made!.id], { timeoutMs: 10_000 });
    await until(async () => lines.some((l) => l.includes('"finished"')), "the finished line");
    const finished = lines.map((l) => JSON.parse(l)).find((l) => l.event === "finished");
    expect(finished).toMatchObject({ level: "info", priority: "high", job: made!.id });
  } finally {
    await w.stop();
  }
  // The logger's own fields are its own, whatever a caller's fields are named.
  createLogger("json", (line) => lines.push(line)).log("warn", "x", { level: "high", time: 1 });
  expect(JSON.parse(lines.at(-1)!)).toMatchObject({ level: "warn", event: "x" });
  expect(JSON.parse(lines.at(-1)!).time).not.toBe(1);
});
