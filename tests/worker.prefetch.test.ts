// Prefetch (lib/worker/prefetch.ts, docs/internals.md "2. Read"): a worker of concurrency 1
// holds one entry ahead, read but not started, so the next job starts the moment one ends;
// never two tasks at once; an entry held past prefetchWaitMs is given back unstarted (no
// attempt spent); a stop releases a held entry; a killed worker's held job is claimed.
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { Admin } from "../lib/admin/admin.ts";
import { GROUP, type QueueKeys } from "../lib/engine/keys.ts";
import { parseOutcome } from "../lib/engine/outcome.ts";
import type { Task } from "../lib/types.ts";
import { enqueue, freshQueue, jobs } from "./fixtures/engine.ts";
import {
  openQueue,
  pinShards,
  type RawRedis,
  ROOT,
  rawRedis,
  redisUrl,
  startWorker,
  testShards,
  until,
} from "./helpers.ts";

// These tests read one shard's own keys (its pending entries, records): one shard.
pinShards(1);

/** A task whose runs are counted; jobs n < `gated` each wait until `release(n)`. */
function gatedTask(gated = 1) {
  const gates = Array.from({ length: gated }, () => Promise.withResolvers<void>());
  const seen = { running: 0, most: 0, runs: [] as number[] };
  const task: Task = {
    name: "t",
    run: async (p: unknown) => {
      const n = (p as { n: number }).n;
      seen.running++;
      seen.most = Math.max(seen.most, seen.running);
      seen.runs.push(n);
      await gates[n]?.promise;
      seen.running--;
      return p;
    },
  };
  return { task, seen, release: (n = 0) => gates[n]!.resolve() };
}

/** Entry ids pending on `consumer`. */
async function pendingOn(r: RawRedis, keys: QueueKeys, consumer: string): Promise<string[]> {
  const reply = (await r.sendCommand([
    "XPENDING",
    keys.stream,
    GROUP,
    "-",
    "+",
    "100",
    consumer,
  ])) as [string][];
  return reply.map((p) => p[0]);
}

/** The idle time of the one entry pending on `consumer` (ms), -1 when none or several. */
async function heldIdleMs(r: RawRedis, keys: QueueKeys, consumer: string): Promise<number> {
  const args = ["XPENDING", keys.stream, GROUP, "-", "+", "10", consumer];
  const reply = (await r.sendCommand(args)) as [string, string, number, number][];
  return reply.length === 1 ? Number(reply[0]![2]) : -1;
}

async function outcome(r: RawRedis, keys: QueueKeys, id: string) {
  const v = await r.sendCommand(["GET", keys.result(id)]);
  return typeof v === "string" ? parseOutcome(v) : null;
}

const quiet = { heartbeatEveryMs: 60_000, claimIdleMs: 60_000 };

describe("concurrency 1 with prefetch 1", () => {
  test("the next entry is read while the first job runs; never two at once; each recorded once", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    const got = await enqueue(r, keys, jobs(30));
    const gated = 5;
    const { task, seen, release } = gatedTask(gated);
    const w = await startWorker({
      prefix,
      queue: "q",
      name: "w1",
      tasks: [task],
      concurrency: 1,
      prefetch: 1,
      prefetchWaitMs: 60_000, // a slow machine's gate never gives an entry back here
      ...quiet,
    });
    // Job k runs (on its gate) and job k + 1 waits here, read but not started; job k ends, and
    // k + 1 starts while the finish takes k + 2 to hold.
    for (let k = 0; k < gated; k++) {
      await until(() => seen.runs.length === k + 1, `job ${k} running`);
      await until(async () => (await pendingOn(r, keys, "w1")).length === 2, `job ${k + 1} held`);
      expect(seen.runs).toEqual(got.slice(0, k + 1).map((_, i) => i));
      release(k);
    }
    await until(() => w.processed === 30, "30 jobs finished");
    await w.stop();
    expect(seen.most).toBe(1);
    expect(seen.runs).toEqual(got.map((_, i) => i)); // each once, in order
    for (const g of got)
      expect(await outcome(r, keys, g.id)).toMatchObject({ status: "finished", attempt: 1 });
    expect(await pendingOn(r, keys, "w1")).toEqual([]);
  });

  test("a held entry waiting past prefetchWaitMs is given back: another worker runs it, no attempt spent", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    const [first, second] = await enqueue(r, keys, jobs(2));
    const { task, seen, release } = gatedTask();
    const o = { prefix, queue: "q", concurrency: 1, ...quiet };
    const w1 = await startWorker({
      ...o,
      name: "w1",
      tasks: [task],
      prefetch: 1,
      prefetchWaitMs: 50,
    });
    await until(() => seen.runs.length === 1, "the first job running");
    // Held, then given back while the first job is still on its gate.
    await until(async () => (await pendingOn(r, keys, "w1")).length === 2, "a second entry held");
    await until(
      async () => (await pendingOn(r, keys, "w1")).length === 1,
      "the held entry given back",
    );
    // Back unstarted: queued, its enqueue time kept (auto id), no run in its history.
    const record = keys.record(second!.id);
    const fields = (await r.sendCommand(["HGETALL", record])) as string[];
    const h = Object.fromEntries(fields.flatMap((v, i) => (i % 2 ? [] : [[v, fields[i + 1]]])));
    expect(h).toMatchObject({ status: "queued", n: "0", q: second!.id.split("-")[0] });
    expect(Object.keys(h).filter((k) => k.startsWith("h:"))).toEqual([]);
    const w2 = await startWorker({
      ...o,
      name: "w2",
      tasks: [{ name: "t", run: async (p) => p }],
      prefetch: 0,
    });
    await until(
      async () => (await outcome(r, keys, second!.id)) !== null,
      "the second job finished",
    );
    expect(await outcome(r, keys, second!.id)).toMatchObject({
      status: "finished",
      attempt: 1,
      worker: "w2",
    });
    release();
    await until(() => w1.processed === 1, "the first job finished on w1");
    await Promise.all([w1.stop(), w2.stop()]);
    expect(seen.runs).toEqual([0]); // the given-back job never started on w1
    expect(await outcome(r, keys, first!.id)).toMatchObject({
      status: "finished",
      attempt: 1,
      worker: "w1",
    });
  });

  test("a stop releases the held entry: nothing lost, no attempt spent", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    const got = await enqueue(r, keys, jobs(2));
    const { task, seen, release } = gatedTask();
    const o = { prefix, queue: "q", concurrency: 1, ...quiet };
    const events: string[] = [];
    const logger = { log: (_: string, event: string) => void events.push(event) };
    const w1 = await startWorker({
      ...o,
      name: "w1",
      tasks: [task],
      prefetch: 1,
      prefetchWaitMs: 60_000,
      logger,
    });
    // The worker has the read's reply (job 0 runs), not only Redis (both pending on w1).
    await until(() => seen.runs.length === 1, "the first job running");
    await until(async () => (await pendingOn(r, keys, "w1")).length === 2, "a second entry held");
    const stopped = w1.stop(5_000);
    await until(() => events.includes("stopping: waiting for jobs in flight"), "the stop begun");
    release(); // the running job ends within the grace; the held one never starts
    await stopped;
    expect(await pendingOn(r, keys, "w1")).toEqual([]);
    const w2 = await startWorker({
      ...o,
      name: "w2",
      tasks: [{ name: "t", run: async (p) => p }],
      prefetch: 0,
    });
    await until(async () => (await outcome(r, keys, got[1]!.id)) !== null, "the held job finished");
    await w2.stop();
    expect(await outcome(r, keys, got[0]!.id)).toMatchObject({ status: "finished", worker: "w1" });
    expect(await outcome(r, keys, got[1]!.id)).toMatchObject({
      status: "finished",
      attempt: 1,
      worker: "w2",
    });
  });
});

describe("a held entry and the queue's controls", () => {
  test("a canceled held job never starts; its entry is acknowledged", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    const got = await enqueue(r, keys, jobs(2));
    const { task, seen, release } = gatedTask();
    const events: string[] = [];
    const logger = { log: (_: string, event: string) => void events.push(event) };
    const o = { prefix, queue: "q", concurrency: 1, ...quiet, cancelCheckMs: 20, logger };
    const w = await startWorker({
      ...o,
      name: "w1",
      tasks: [task],
      prefetch: 1,
      prefetchWaitMs: 60_000,
    });
    // The worker has the read's reply (job 0 runs), not only Redis (both pending on w1).
    await until(() => seen.runs.length === 1, "the first job running");
    await until(async () => (await pendingOn(r, keys, "w1")).length === 2, "a second entry held");
    await using q = await openQueue({ prefix, queue: "q" });
    await q.cancel([got[1]!.id]);
    // The worker's look at cancels (cancelCheckMs) marks the held entry; then the gate opens.
    await until(() => events.includes("canceled before it started"), "the held job marked");
    release();
    await until(
      async () => (await pendingOn(r, keys, "w1")).length === 0,
      "both entries acknowledged",
    );
    await w.stop();
    expect(seen.runs).toEqual([0]); // the canceled one never ran
    expect(await q.getJob(got[1]!.id)).toMatchObject({ status: "canceled" });
  });
});

describe("a held entry while the queue is paused", () => {
  test("is kept past prefetchWaitMs (never given back) and starts on resume", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    const got = await enqueue(r, keys, jobs(2));
    const { task, seen, release } = gatedTask();
    const events: string[] = [];
    const logger = { log: (_: string, event: string) => void events.push(event) };
    const o = { prefix, queue: "q", concurrency: 1, ...quiet, pauseCheckMs: 20, logger };
    const w = await startWorker({
      ...o,
      name: "w1",
      tasks: [task],
      prefetch: 1,
      prefetchWaitMs: 1_000, // the pause is seen well within it (pauseCheckMs 20), then long past
    });
    // The worker has the read's reply (job 0 runs), not only Redis (both pending on w1).
    await until(() => seen.runs.length === 1, "the first job running");
    await until(async () => (await pendingOn(r, keys, "w1")).length === 2, "a second entry held");
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
    try {
      expect(await admin.pause()).toBe(true);
      await until(() => events.includes("queue paused: taking no new jobs"), "the pause seen");
      release(); // job 0 ends while paused: job 1 stays held, past its wait bound
      await until(() => w.processed === 1, "job 0 finished");
      // Held past its wait bound (its idle time in the pending list), unstarted, kept.
      await until(async () => (await heldIdleMs(r, keys, "w1")) >= 1_500, "the bound long past");
      expect(await pendingOn(r, keys, "w1")).toEqual([got[1]!.entryId!]);
      expect(events).not.toContain("prefetched job given back: the job before it runs long");
      expect(events).not.toContain("prefetched job dropped: not pending here any more");
      expect(seen.runs).toEqual([0]);
      expect(await admin.resume()).toBe(true);
      await until(() => w.processed === 2, "job 1 finished on resume");
    } finally {
      await admin.close();
      await w.stop();
    }
    expect(await outcome(r, keys, got[1]!.id)).toMatchObject({
      status: "finished",
      attempt: 1,
      worker: "w1",
    });
  });
});

describe("a worker killed while it holds an entry", () => {
  test("its held job is claimed later and runs, counted by the delivery-count rule", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    // The first SIGKILLs its worker as it runs; the second is held there at that moment.
    const [, held] = await enqueue(r, keys, [
      { task: "sigkill", payload: "null", maxAttempts: 3 },
      { task: "echo", payload: '"x"', maxAttempts: 3 },
    ]);
    const script = resolve(ROOT, "tests/fixtures/crash-worker.ts");
    const options = { queue: "q", concurrency: 1, prefetch: 1, claimIdleMs: 60_000 };
    const shards = String(testShards() ?? "");
    const proc = Bun.spawn({
      cmd: [process.execPath, script, redisUrl(), prefix, "k1", shards, JSON.stringify(options)],
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      expect(await proc.exited).not.toBe(0);
      expect(proc.signalCode).toBe("SIGKILL");
    } finally {
      proc.kill("SIGKILL");
    }
    // Both were delivered to k1 (one running, one held) before it died.
    expect((await pendingOn(r, keys, "k1")).length).toBe(2);
    const echo: Task = { name: "echo", run: async (p) => p };
    const w = await startWorker({
      prefix,
      queue: "q",
      name: "w2",
      tasks: [echo],
      concurrency: 1,
      claimIdleMs: 30,
    });
    await until(async () => (await outcome(r, keys, held!.id)) !== null, "the held job finished");
    await w.stop();
    // The delivery to k1 counts as a run abandoned (docs/internals.md, "7. Claims"): attempt 2.
    expect(await outcome(r, keys, held!.id)).toMatchObject({
      status: "finished",
      attempt: 2,
      worker: "w2",
    });
    expect(await r.sendCommand(["HGET", keys.record(held!.id), "h:1:e"])).toContain("abandoned");
  });
});
