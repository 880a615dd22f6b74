import { describe, expect, test } from "bun:test";
import { GROUP, type QueueKeys, shardKeys, shardOf } from "../lib/engine/keys.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { within } from "../lib/time.ts";
import { defineTask } from "../lib/types.ts";
import type { RawRedis } from "./helpers.ts";
import { logRecorder, openQueue, rawRedis, startWorker, testPrefix, until } from "./helpers.ts";

/** Every shard's keys (6 shards in the cluster pass). */
const shardsOf = (q: Queue) => shardKeys(q.options.prefix, q.options.queue, q.shards);

/** `read` on every shard of the queue, summed. */
async function sum(q: Queue, read: (k: QueueKeys) => Promise<unknown>): Promise<number> {
  let n = 0;
  for (const k of shardsOf(q)) n += Number(await read(k));
  return n;
}

const pendingCount = (r: RawRedis, q: Queue) =>
  sum(q, async (k) => ((await r.sendCommand(["XPENDING", k.stream, GROUP])) as [number])[0]);
const streamLength = (r: RawRedis, q: Queue) => sum(q, (k) => r.sendCommand(["XLEN", k.stream]));

describe("graceful stop", () => {
  test("lets an in-flight job finish, then leaves the group and the workers set", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    let started = false;
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const slow = defineTask({
      name: "slow",
      run: async () => {
        started = true;
        await gate;
        return "done";
      },
    });
    const log = logRecorder();
    const w = await startWorker({ prefix, tasks: [slow], name: "leaving", logger: log });
    const id = await q.enqueue("slow", null);
    await until(() => started, "the job to start");
    const stopping = w.stop(5_000);
    // The job ends only once the worker is waiting for it: stop must have waited.
    await until(
      () => log.events().includes("stopping: waiting for jobs in flight"),
      "the worker to wait for its job",
    );
    // Its grace in whole ms (a monotonic clock's difference read 497.35703999999987).
    const waiting = log.records.find((x) => x.event === "stopping: waiting for jobs in flight");
    expect(Number.isInteger(waiting?.fields.graceMs)).toBe(true);
    finish();
    await stopping;
    expect(await q.getJob(id)).toMatchObject({ status: "finished", result: "done", attempts: 1 });
    expect(await pendingCount(r, q)).toBe(0);
    expect(await streamLength(r, q)).toBe(0);
    for (const k of shardsOf(q)) {
      const consumers = (await r.sendCommand(["XINFO", "CONSUMERS", k.stream, GROUP])) as unknown[];
      expect(consumers).toHaveLength(0);
      expect(await r.sendCommand(["ZSCORE", k.workers, "leaving"])).toBeNull();
    }
  });

  test("releases a job still running after the grace period, without counting the attempt", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    let runs = 0;
    const endless = defineTask({
      name: "job",
      run: (_p: null, signal) => {
        runs++;
        return new Promise<string>((resolve) =>
          signal.addEventListener("abort", () => resolve("x")),
        );
      },
    });
    const w = await startWorker({ prefix, tasks: [endless] });
    const id = await q.enqueue("job", null);
    await until(() => runs === 1, "the job to start");
    await w.stop(50);
    expect(await q.getJob(id)).toMatchObject({ status: "queued", attempts: 0, worker: null });
    expect(await pendingCount(r, q)).toBe(0);
    expect(await streamLength(r, q)).toBe(1); // a fresh entry, ready at once
    // Another worker gets it immediately, not after claimIdleMs.
    const quick = defineTask({ name: "job", run: async () => "second" });
    const w2 = await startWorker({ prefix, tasks: [quick], claimIdleMs: 60_000 });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", result: "second", attempts: 1 });
    await w2.stop();
  });

  test("a later stop with a shorter grace period cuts a long one (a SIGTERM during a restart)", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    let runs = 0;
    const endless = defineTask({
      name: "job",
      run: (_p: null, signal) => {
        runs++;
        return new Promise<string>((resolve) =>
          signal.addEventListener("abort", () => resolve("x")),
        );
      },
    });
    const log = logRecorder();
    const w = await startWorker({ prefix, tasks: [endless], logger: log });
    const id = await q.enqueue("job", null);
    await until(() => runs === 1, "the job to start");
    const long = w.stop(600_000);
    await until(
      () => log.events().includes("stopping: waiting for jobs in flight"),
      "the worker to wait for its job",
    );
    // Cut to 50 ms from now: the job is given up and released, the stop ends (it waited for
    // the first call's 600 s).
    expect(await within(w.stop(50), 5_000)).toBe(true);
    expect(await within(long, 1_000)).toBe(true);
    expect(await q.getJob(id)).toMatchObject({ status: "queued", attempts: 0 });
    // A later call with a longer grace changes nothing (stopped already, at once).
    expect(await within(w.stop(600_000), 1_000)).toBe(true);
  });

  test("a stop longer than the worker's heartbeat expiry keeps beating while its jobs run", async () => {
    // The restart for a queue's levels waits for jobs as long as their time limit: its hash
    // (6 beats) must not expire meanwhile (info would show the worker gone, its name free).
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    const slow = defineTask({
      name: "slow",
      run: async () => {
        started = true;
        await gate;
        return 1;
      },
    });
    const log = logRecorder();
    const w = await startWorker({
      prefix,
      tasks: [slow],
      name: "beating",
      heartbeatEveryMs: 50,
      logger: log,
    });
    const id = await q.enqueue("slow", null);
    await until(() => started, "the job to start");
    const stopping = w.stop(600_000);
    await until(
      () => log.events().includes("stopping: waiting for jobs in flight"),
      "the worker to wait for its job",
    );
    // The hash of the job's shard: the others' shards, with no job, are released as they stop.
    const k = shardsOf(q)[Math.max(0, shardOf(id, q.shards))];
    const seen = async () => Number(await r.sendCommand(["HGET", k!.worker("beating"), "seen_at"]));
    const before = await seen();
    // ... but serves its tasks no more: it reads nothing now, so its tasks are not kept live
    // (nor parked jobs brought back to a stream it will not read).
    const alive = () => r.sendCommand(["HGET", k!.tasks, "alive_until:slow"]);
    const aliveThen = await alive();
    await until(async () => (await seen()) > before + 300, "beats through the stop's wait");
    expect(await alive()).toBe(aliveThen);
    release();
    await stopping;
    expect(await q.getJob(id)).toMatchObject({ status: "finished", attempts: 1 });
  });

  test("stop is idempotent and resolves `stopped`", async () => {
    const prefix = testPrefix();
    const w = await startWorker({ prefix, tasks: [] });
    await Promise.all([w.stop(), w.stop()]);
    await w.stopped;
    expect(w.inFlight).toBe(0);
  });
  // R-slots finding: Worker.stop() ended the schedule loop's pass (up to a second) before its
  // shards stopped, and meanwhile the read loops and finishes went on starting jobs. Here the
  // pass's end is held (the loop's stop() waits on a gate) while jobs would be starting.
  test("no job starts once stop() is called, while the schedule loop's pass ends", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    let started = 0;
    const quick = defineTask({
      name: "quick",
      run: async () => {
        started++;
        await Bun.sleep(1);
      },
    });
    await q.enqueueMany(Array.from({ length: 2_000 }, () => ({ task: "quick" })));
    const w = await startWorker({ prefix, tasks: [quick], concurrency: 4 });
    const parts = w as unknown as { schedules: { stop(): Promise<void> } | null };
    const loop = parts.schedules;
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    parts.schedules = { stop: () => gate.then(() => loop?.stop()) };
    await until(() => started >= 40, "jobs running");
    const stopping = w.stop();
    const atStop = started;
    // A quarter of a second in which hundreds of these jobs would start.
    await Bun.sleep(250);
    expect(started).toBe(atStop);
    open();
    await stopping;
    expect(started).toBe(atStop);
  });
});
