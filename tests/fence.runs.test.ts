// Fenced runs through real workers (README, "Fenced runs"; docs/internals.md, "Fenced runs"):
// every later run of a job sees a higher ctx.fence (a claim after a lapsed lease, a retry
// through the delayed set, a release at shutdown, a requeue from the dead letters, also of a
// high job that comes back at normal), and a store that keeps the highest fence per key
// (fencedSet) refuses the late write of a run that stalled while another worker took its job
// over. In the cluster pass the queues have 6 shards.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { levelKeys } from "../lib/engine/keys.ts";
import { PermanentError, RetryableError } from "../lib/errors.ts";
import { compareFences, fenceOf, isFence } from "../lib/fence/fence.ts";
import { fencedSet } from "../lib/fence/store.ts";
import { defineTask, type TaskContext } from "../lib/types.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, redisUrl, startWorker, testPrefix, testShards } from "./helpers.ts";

/** Claim scans only as a worker starts. */
const NO_SCANS = 1_000_000_000;

/** A promise and its resolve. */
function gate<T = void>() {
  let open!: (v: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Each run's fence (and attempt), in the order the runs started. */
function runLog() {
  const runs: { attempt: number; fence: string; jobFence: string }[] = [];
  const seen = (ctx: TaskContext, job: { fence: string }) =>
    runs.push({ attempt: ctx.attempt, fence: ctx.fence, jobFence: job.fence });
  return { runs, seen };
}

/** Every fence a later run than the one before it (and ctx.fence is JobInfo.fence). */
function expectGrowing(runs: { fence: string; jobFence: string }[]): void {
  for (const r of runs) {
    expect(isFence(r.fence)).toBe(true);
    expect(r.jobFence).toBe(r.fence);
  }
  for (let i = 1; i < runs.length; i++) {
    expect(compareFences(runs[i]!.fence, runs[i - 1]!.fence)).toBe(1);
  }
}

describe("a stalled run's late write is refused", () => {
  for (const priority of ["normal", "high"] as const) {
    test(`the run that took the job over wrote with a higher fence (${priority})`, async () => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix });
      await using store = await rawRedis();
      const key = `${prefix}:store:{booking-1}`;
      const { runs, seen } = runLog();
      const stalled = gate(); // run 1 waits here: its worker "stalls"
      const started = gate();
      const lateWrite = gate<boolean>();
      const book = defineTask({
        name: "book",
        run: async (_: null, ctx, job) => {
          seen(ctx, job);
          if (ctx.attempt === 1) {
            started.open();
            await stalled.promise;
          }
          const written = await fencedSet(store, key, ctx.fence, `run ${ctx.attempt}`);
          if (ctx.attempt === 1) lateWrite.open(written);
          return written;
        },
      });
      const id = await q.enqueue(book, null, { priority });
      // Worker A takes run 1. It renews its leases every 20 s (a third of its claimIdleMs), so
      // to worker B, which claims entries idle for 100 ms, A's lease lapses as a stalled
      // worker's does (a long GC pause, a frozen VM, a partition): no renewal comes.
      const a = await startWorker({
        prefix,
        tasks: [book],
        claimIdleMs: 60_000,
        reclaimEveryMs: NO_SCANS,
      });
      await started.promise;
      const b = await startWorker({ prefix, tasks: [book], claimIdleMs: 100 });
      // B claims the job (delivery count 2) and runs it to the end: its write lands.
      const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
      expect(ended.get(id)).toMatchObject({ status: "finished", result: true, worker: b.name });
      // A wakes up and writes what it computed: refused, B's value and fence stay.
      stalled.open();
      expect(await lateWrite.promise).toBe(false);
      expect(await store.sendCommand(["HGETALL", key])).toEqual([
        "fence",
        runs[1]!.fence,
        "value",
        "run 2",
      ]);
      expect(runs.map((r) => r.attempt)).toEqual([1, 2]);
      expectGrowing(runs);
      // Same entry (a claim keeps it), one delivery more.
      const entry = runs[0]!.fence.slice(0, -40);
      expect(runs[0]!.fence).toBe(`${entry}${"1".padStart(40, "0")}`);
      expect(runs[1]!.fence).toBe(`${entry}${"2".padStart(40, "0")}`);
      await Promise.all([a.stop(0), b.stop(0)]);
    });
  }
});

describe("every later run has a higher fence", () => {
  test.each(["normal", "high"] as const)(
    "retries through the delayed set (%s)",
    async (priority) => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix });
      const { runs, seen } = runLog();
      const flaky = defineTask({
        name: "flaky",
        run: async (_: null, ctx, job) => {
          seen(ctx, job);
          if (ctx.attempt < 3) throw new RetryableError("not yet", { retryAfterMs: 0 });
          return "ok";
        },
      });
      const id = await q.enqueue(flaky, null, { maxAttempts: 3, priority });
      const w = await startWorker({ prefix, tasks: [flaky] });
      const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
      expect(ended.get(id)).toMatchObject({ status: "finished", attempts: 3 });
      expect(runs.map((r) => r.attempt)).toEqual([1, 2, 3]);
      expectGrowing(runs);
      // Each retry is a fresh entry (delivery count 1), so each fence ends in 1.
      for (const r of runs) expect(r.fence.endsWith(`${"1".padStart(20, "0")}`)).toBe(true);
      await w.stop(0);
    },
  );

  test.each(["normal", "high"] as const)(
    "a release at shutdown, then a run on another worker (%s)",
    async (priority) => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix });
      const { runs, seen } = runLog();
      const started = gate();
      const slow = defineTask({
        name: "slow",
        run: async (_: null, ctx, job) => {
          seen(ctx, job);
          if (runs.length > 1) return "done";
          started.open();
          // Until the worker stops and aborts it: the run is released, not counted.
          await new Promise((resolve) => ctx.addEventListener("abort", resolve));
          return "aborted";
        },
      });
      const id = await q.enqueue(slow, null, { priority });
      const a = await startWorker({ prefix, tasks: [slow] });
      await started.promise;
      await a.stop(0);
      const b = await startWorker({ prefix, tasks: [slow] });
      const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
      expect(ended.get(id)).toMatchObject({ status: "finished", result: "done", worker: b.name });
      // The released run used no attempt: attempt 1 both times, a higher fence all the same.
      expect(runs.map((r) => r.attempt)).toEqual([1, 1]);
      expectGrowing(runs);
      await b.stop(0);
    },
  );

  test("on a queue of 3 shards: each job's retries on its own shard", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, shards: testShards() ?? 3 });
    const fences = new Map<string, string[]>();
    const flaky = defineTask({
      name: "flaky",
      run: async (_: null, ctx, job) => {
        fences.set(ctx.id, [...(fences.get(ctx.id) ?? []), job.fence]);
        if (ctx.attempt < 3) throw new RetryableError("not yet", { retryAfterMs: 0 });
        return "ok";
      },
    });
    const ids = (
      await q.enqueueMany(Array.from({ length: 9 }, () => ({ task: flaky, payload: null })))
    ).map((j) => j.id);
    expect(new Set(ids.map((id) => id.split(":")[1])).size).toBe(q.shards); // every shard
    const w = await startWorker({ prefix, tasks: [flaky], shards: q.shards });
    const { ended } = await q.waitForJobs(ids, { timeoutMs: 20_000 });
    expect([...ended.values()].map((e) => e?.status)).toEqual(ids.map(() => "finished"));
    for (const id of ids) {
      expect(fences.get(id)).toHaveLength(3);
      expectGrowing(fences.get(id)!.map((fence) => ({ fence, jobFence: fence })));
    }
    await w.stop(0);
  });

  test("a requeue from the dead letters", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using admin = await adminOf(prefix);
    const { runs, seen } = runLog();
    const once = oncePermanent(seen);
    const id = await q.enqueue(once, null, { maxAttempts: 1 });
    const w = await startWorker({ prefix, tasks: [once] });
    expect((await q.waitForJobs([id], { timeoutMs: 10_000 })).ended.get(id)?.status).toBe("failed");
    expect(await admin.requeue([id])).toEqual([{ id, verdict: "requeued" }]);
    expect((await q.waitForJobs([id], { timeoutMs: 10_000 })).ended.get(id)?.status).toBe(
      "finished",
    );
    expect(runs.map((r) => r.attempt)).toEqual([1, 1]); // a requeue starts the count again
    expectGrowing(runs);
    await w.stop(0);
  });

  test("a high job requeued comes back at normal with a higher fence, even from an entry id ahead of Redis' clock", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    await using admin = await adminOf(prefix);
    const { runs, seen } = runLog();
    const once = oncePermanent(seen);
    const id = "fence-high-1";
    // The high stream's last id is ahead of Redis' clock (an operator's XADD, or a clock that
    // went back): the job's high entry gets an id there, and the normal stream's `*` would be
    // smaller. The entry that set it is deleted (the stream keeps its last id).
    const high = levelKeys(keysOf(q, id), "high").stream;
    await r.sendCommand(["XADD", high, "4102444800000-0", "x", "1"]);
    await r.sendCommand(["XDEL", high, "4102444800000-0"]);
    await q.enqueue(once, null, { id, priority: "high", maxAttempts: 1 });
    const w = await startWorker({ prefix, tasks: [once] });
    expect((await q.waitForJobs([id], { timeoutMs: 10_000 })).ended.get(id)?.status).toBe("failed");
    expect(runs[0]!.fence).toBe(fenceOf("4102444800000-1", 1));
    expect(await admin.requeue([id])).toEqual([{ id, verdict: "requeued" }]);
    expect((await q.waitForJobs([id], { timeoutMs: 10_000 })).ended.get(id)?.status).toBe(
      "finished",
    );
    // The normal stream's entry is the id just after the high one.
    expect(runs[1]!.fence).toBe(fenceOf("4102444800000-2", 1));
    expectGrowing(runs);
    await w.stop(0);
  });
});

/** A task that fails for good on its first run and finishes on the next. */
function oncePermanent(seen: (ctx: TaskContext, job: { fence: string }) => void) {
  let calls = 0;
  return defineTask({
    name: "once",
    run: async (_: null, ctx, job) => {
      seen(ctx, job);
      if (++calls === 1) throw new PermanentError("first run fails for good");
      return "second time";
    },
  });
}

async function adminOf(prefix: string) {
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
  return Object.assign(admin, { [Symbol.asyncDispose]: () => admin.close() });
}
