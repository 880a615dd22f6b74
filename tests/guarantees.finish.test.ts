// "Its result is recorded exactly once: the first finish wins, and a job that ended is never
// changed by a later finish or failure" (docs/internals.md, Guarantees). Two real runs of one
// job, through the public API: worker A starts it and stalls past its lease (it never renews:
// its claimIdleMs is huge), worker B takes it over, and A's run ends only after B's has been
// recorded. Also: a finish never recreates a gone record, counts its run time, and acknowledges
// the entry in the same step as the outcome.
import { describe, expect, test } from "bun:test";
import { GROUP } from "../lib/engine/keys.ts";
import { PermanentError, RetryableError } from "../lib/errors.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { defineTask } from "../lib/types.ts";
import type { RawRedis } from "./helpers.ts";
import {
  logRecorder,
  oneShardFile,
  openQueue,
  rawRedis,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

/** A task whose run waits for `open()`, then ends as `end` says. */
function heldTask(end: () => unknown) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let started = false;
  const task = defineTask({
    name: "twice",
    run: async () => {
      started = true;
      await gate;
      return end();
    },
  });
  return { task, open, started: () => started };
}

/** Events naming `id` in the events stream, by type. */
async function eventsFor(r: RawRedis, q: Queue, id: string): Promise<string[]> {
  const entries = (await r.sendCommand(["XRANGE", q.keys.events, "-", "+"])) as [
    string,
    string[],
  ][];
  const types: string[] = [];
  for (const [, f] of entries) {
    const m = new Map<string, string>();
    for (let i = 0; i + 1 < f.length; i += 2) m.set(f[i]!, f[i + 1]!);
    const ids = (m.get("ids") ?? m.get("id") ?? "").split(",");
    if (ids.includes(id)) types.push(m.get("type") ?? "");
  }
  return types;
}

/** A starts the job and holds it; B (lease 100 ms) takes it over and ends it with `b`. */
async function twoRuns(prefix: string, a: () => unknown, b: () => unknown) {
  const q = await openQueue({ prefix, maxAttempts: 3 });
  const held = heldTask(a);
  const logA = logRecorder();
  // claimIdleMs 1e6: A renews every 333 s, so to B its lease lapses after B's 100 ms.
  const workerA = await startWorker({
    prefix,
    tasks: [held.task],
    claimIdleMs: 1_000_000,
    name: "A",
    logger: logA,
  });
  const id = await q.enqueue("twice", null);
  await until(held.started, "A to start the job");
  const taskB = defineTask({ name: "twice", run: async () => b() });
  const workerB = await startWorker({ prefix, tasks: [taskB], claimIdleMs: 100, name: "B" });
  const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
  const first = ended.get(id);
  held.open(); // A's run ends now, after B's outcome was recorded
  await until(
    () => logA.records.some((e) => e.fields.job === id && e.event !== "claimed"),
    "A to settle its late run",
  );
  await Promise.all([workerA.stop(), workerB.stop()]);
  return { q, id, first, aEvents: logA.events() };
}

describe("first finisher wins", () => {
  test("a second finish (other worker, other result) keeps the first result, counts and event", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const { q, id, first, aEvents } = await twoRuns(
      prefix,
      () => "from A",
      () => "from B",
    );
    await using _q = q;
    expect(first).toMatchObject({ status: "finished", result: "from B", worker: "B" });
    expect(aEvents).toContain("finished (duplicate run, first result kept)");
    const job = await q.getJob(id);
    expect(job).toMatchObject({ status: "finished", result: "from B", worker: "B", attempts: 2 });
    expect(job!.endedAt).toBe(first!.endedAt);
    expect(await r.sendCommand(["HGET", q.keys.stats, "finished"])).toBe("1");
    expect(await eventsFor(r, q, id)).toEqual(["finished"]);
    expect(Number(await r.sendCommand(["XLEN", q.keys.stream]))).toBe(0);
  });

  test("a finish after the job failed for good leaves the failure", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const { q, id, first, aEvents } = await twoRuns(
      prefix,
      () => "from A",
      () => {
        throw new PermanentError("B says no");
      },
    );
    await using _q = q;
    expect(first).toMatchObject({ status: "failed", error: "B says no" });
    expect(aEvents).toContain("finished (duplicate run, first result kept)");
    expect(await q.getJob(id)).toMatchObject({
      status: "failed",
      error: "B says no",
      result: null,
    });
    expect(await r.sendCommand(["HGET", q.keys.stats, "finished"])).toBeNull();
    expect(await eventsFor(r, q, id)).toEqual(["failed"]);
  });

  test("a failure after the job finished leaves the result and writes no dead letter", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const { q, id, first, aEvents } = await twoRuns(
      prefix,
      () => {
        throw new PermanentError("A says no");
      },
      () => "from B",
    );
    await using _q = q;
    expect(first).toMatchObject({ status: "finished", result: "from B" });
    expect(aEvents).toContain("failed (job already ended)");
    expect(await q.getJob(id)).toMatchObject({ status: "finished", result: "from B", error: null });
    expect(Number(await r.sendCommand(["XLEN", q.keys.dead]))).toBe(0);
    expect(await r.sendCommand(["HGET", q.keys.stats, "failed"])).toBeNull();
    expect(await eventsFor(r, q, id)).toEqual(["finished"]);
  });
});

describe("a job whose record is gone", () => {
  test("its finish does not recreate the record (deleted, or expired, while it ran)", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const held = heldTask(() => "late");
    const log = logRecorder();
    const w = await startWorker({ prefix, tasks: [held.task], logger: log });
    // A caller id: the job has a record (its idempotency marker), which the finish EXPIREs.
    const id = await q.enqueue("twice", null, { id: "gone-1" });
    await until(held.started, "the job to start");
    await r.sendCommand(["DEL", q.keys.record(id)]);
    held.open();
    const settled = () => log.records.filter((e) => e.fields.job === id).map((e) => e.event);
    await until(() => settled().length > 0, "the finish to be written");
    // The entry carries the job, so its result is recorded all the same.
    expect(settled()).toEqual(["finished"]);
    expect(await r.sendCommand(["EXISTS", q.keys.record(id)])).toBe(0);
    expect(await q.getJob(id)).toMatchObject({ status: "finished", result: "late" });
    expect(Number(await r.sendCommand(["XLEN", q.keys.stream]))).toBe(0); // still settled
    await w.stop();
  });
});

describe("run times", () => {
  test("a finish counts its run time in the bucket of its upper bound (le)", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    // The run time is a difference on the worker's own clock (the engine writes nothing at
    // start); its clock says the run took exactly 10 ms: the bound of bucket "10".
    const t0 = 1_900_000_000_000;
    let clock = t0;
    const tenMs = defineTask({
      name: "ten",
      run: async () => {
        clock = t0 + 10;
        return null;
      },
    });
    const w = await startWorker({ prefix, tasks: [tenMs], now: () => clock });
    const id = await q.enqueue("ten", null);
    await q.waitForJobs([id], { timeoutMs: 5_000 });
    await w.stop();
    const flat = (await r.sendCommand(["HGETALL", q.keys.durations])) as string[];
    const h = Object.fromEntries(flat.flatMap((v, i) => (i % 2 ? [] : [[v, flat[i + 1]]])));
    expect(h).toEqual({ "10": "1", sum_ms: "10" });
  });
});

describe("acknowledged with the outcome", () => {
  test.each([
    ["finished", "finished"],
    ["failed for good", "failed"],
    ["retried later", "retrying"],
  ])("a job %s: its entry is acknowledged and gone once its outcome shows", async (_, status) => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const task = defineTask({
      name: "end",
      run: async () => {
        if (status === "failed") throw new PermanentError("no");
        if (status === "retrying") throw new RetryableError("later", { retryAfterMs: 60_000 });
        return "ok";
      },
    });
    const w = await startWorker({ prefix, tasks: [task] });
    const id = await q.enqueue("end", null);
    await until(async () => (await q.getJob(id))?.status === status, `the job to be ${status}`);
    // Written by the same script as the outcome: no moment shows one without the other.
    expect(await r.sendCommand(["XPENDING", q.keys.stream, GROUP])).toEqual([0, null, null, null]);
    expect(Number(await r.sendCommand(["XLEN", q.keys.stream]))).toBe(0);
    await w.stop();
  });
});
