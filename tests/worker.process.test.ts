import { describe, expect, test } from "bun:test";
import { PermanentError, RetryableError } from "../lib/errors.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { mastersOf } from "../lib/redis/cluster.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { defineTask } from "../lib/types.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import {
  commandCalls,
  logRecorder,
  openQueue,
  type RawRedis,
  rawRedis,
  redisTime,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

/** HMGET of `fields` of every shard's stats, summed field by field. */
async function statsOf(r: RawRedis, q: Queue, fields: string[]): Promise<string[]> {
  const sums = fields.map(() => 0);
  for (const k of shardsOf(q)) {
    const got = (await r.sendCommand(["HMGET", k.stats, ...fields])) as (string | null)[];
    got.forEach((v, i) => {
      sums[i]! += Number(v ?? 0);
    });
  }
  return sums.map(String);
}

/** CLIENT LIST of every server (on a cluster, each master). */
async function clientList(r: RawRedis): Promise<string> {
  const lists: string[] = [];
  for (const node of await mastersOf(r as unknown as Redis)) {
    lists.push(String(await node.sendCommand(["CLIENT", "LIST"])));
  }
  return lists.join("\n");
}

const add = defineTask({ name: "add", run: async (p: { a: number; b: number }) => p.a + p.b });

describe("worker", () => {
  test("runs a job, records its result once, acks and deletes the entry", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const w = await startWorker({ prefix, tasks: [add] });
    const id = await q.enqueue("add", { a: 2, b: 3 });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    const job = ended.get(id);
    expect(job).toMatchObject({ status: "finished", result: 5, attempts: 1, worker: w.name });
    expect(job?.error).toBeNull();
    expect(await r.sendCommand(["XLEN", keysOf(q, id).stream])).toBe(0);
    const ttl = Number(await r.sendCommand(["TTL", keysOf(q, id).result(id)]));
    expect(ttl).toBeGreaterThan(3_500); // resultTtlS: 3600
    const stats = (await r.sendCommand(["HGETALL", keysOf(q, id).stats])) as string[];
    expect(stats).toEqual(
      expect.arrayContaining(["enqueued", "1", "started", "1", "finished", "1"]),
    );
    await w.stop();
  });

  test("a job that fails twice then succeeds finishes on attempt 3, backing off in between", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    let calls = 0;
    const flaky = defineTask({
      name: "flaky",
      run: async () => {
        if (++calls < 3) throw new Error(`boom ${calls}`);
        return "ok";
      },
    });
    const w = await startWorker({ prefix, tasks: [flaky] });
    const id = await q.enqueue("flaky", null);
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({
      status: "finished",
      result: "ok",
      attempts: 3,
      error: null,
    });
    expect(calls).toBe(3);
    await w.stop();
  });

  test("a retryable error waits in the delayed set until its retry time", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const later = defineTask({
      name: "later",
      run: async () => {
        throw new RetryableError("busy", { retryAfterMs: 60_000 });
      },
    });
    const w = await startWorker({ prefix, tasks: [later] });
    const before = await redisTime(r);
    const id = await q.enqueue("later", null);
    const score = () => r.sendCommand(["ZSCORE", keysOf(q, id).delayed, id]);
    await until(async () => (await score()) !== null, "the job to enter the delayed set");
    // Due its delay after the failure, by Redis' clock.
    expect(Number(await score())).toBeGreaterThanOrEqual(before + 60_000);
    expect(Number(await score())).toBeLessThanOrEqual((await redisTime(r)) + 60_000);
    expect(await q.getJob(id)).toMatchObject({ status: "retrying", error: "busy", attempts: 1 });
    await w.stop();
  });

  test("a PermanentError fails at once: no retry, a dead letter, the failure TTL", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    let calls = 0;
    const nope = defineTask({
      name: "nope",
      run: async () => {
        calls++;
        throw new PermanentError("not today");
      },
    });
    const w = await startWorker({ prefix, tasks: [nope] });
    const id = await q.enqueue("nope", { x: 1 });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({ status: "failed", error: "not today", attempts: 1 });
    expect(calls).toBe(1);
    const k = keysOf(q, id);
    const dead = (await r.sendCommand(["XRANGE", k.dead, "-", "+"])) as [string, string[]][];
    expect(dead).toHaveLength(1);
    expect(dead[0]![1]).toEqual(
      expect.arrayContaining(["id", id, "task", "nope", "error", "not today", "attempts", "1"]),
    );
    expect(Number(await r.sendCommand(["TTL", k.result(id)]))).toBeGreaterThan(600_000);
    await w.stop();
  });

  test("a job that always fails is dead-lettered after maxAttempts with its last error", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 4 });
    await using r = await rawRedis();
    let calls = 0;
    const broken = defineTask({
      name: "broken",
      run: async () => {
        throw new Error(`failure ${++calls}`);
      },
    });
    const w = await startWorker({ prefix, tasks: [broken] });
    const id = await q.enqueue("broken", null);
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({ status: "failed", attempts: 4, error: "failure 4" });
    expect(calls).toBe(4);
    const stats = await statsOf(r, q, ["retried", "failed", "dead"]);
    expect(stats).toEqual(["3", "1", "1"]);
    await w.stop();
  });

  test("a job past its time limit is aborted through its signal and retried", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 2 });
    const signals: AbortSignal[] = [];
    const stuck = defineTask({
      name: "stuck",
      // Ignores its signal on purpose: the attempt must still end at the time limit.
      run: (_p: null, signal) => {
        signals.push(signal);
        return new Promise<never>(() => {});
      },
    });
    const w = await startWorker({ prefix, tasks: [stuck], jobTimeoutMs: 50 });
    const id = await q.enqueue("stuck", null);
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({
      status: "failed",
      attempts: 2,
      error: "timed out after 50 ms",
    });
    expect(signals).toHaveLength(2);
    expect(signals.every((s) => s.aborted)).toBe(true);
    await w.stop();
  });

  test("never runs more jobs at once than its concurrency", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    let running = 0;
    let peak = 0;
    const slow = defineTask({
      name: "slow",
      run: async () => {
        peak = Math.max(peak, ++running);
        await Bun.sleep(20);
        running--;
      },
    });
    const w = await startWorker({ prefix, tasks: [slow], concurrency: 3 });
    const ids = (await q.enqueueMany(Array.from({ length: 12 }, () => ({ task: "slow" })))).map(
      (e) => e.id,
    );
    const { ended, pending } = await q.waitForJobs(ids, { timeoutMs: 5_000 });
    expect(pending).toEqual([]); // every job ran: `every` over `ended` alone holds for none
    expect(ids.map((id) => ended.get(id)?.status)).toEqual(ids.map(() => "finished"));
    expect(peak).toBe(3);
    await w.stop();
  });

  test("burst mode exits once nothing is waiting, delayed or in flight", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const ids = (
      await q.enqueueMany(
        Array.from({ length: 20 }, (_, i) => ({ task: "add", payload: { a: i, b: 1 } })),
      )
    ).map((e) => e.id);
    const w = await startWorker({ prefix, tasks: [add], burst: true });
    await w.stopped;
    const jobs = await q.getJobs(ids);
    expect(jobs.map((j) => j?.result)).toEqual(ids.map((_, i) => i + 1));
    expect(w.processed).toBe(20);
  });

  test("two lanes (concurrency 16 and up): every job started once; the lane's connection closes at stop", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const payloads = Array.from({ length: 600 }, (_, i) => ({
      task: "add",
      payload: { a: i, b: 0 },
    }));
    const ids = (await q.enqueueMany(payloads)).map((e) => e.id);
    const w = await startWorker({ prefix, tasks: [add], concurrency: 32 });
    const clients = () => clientList(r);
    expect(await clients()).toContain(`name=courier-lane-${w.name} `);
    const { ended } = await q.waitForJobs(ids, { timeoutMs: 20_000 });
    expect(ids.map((id) => ended.get(id)?.result)).toEqual(ids.map((_, i) => i));
    expect([...ended.values()].every((j) => j?.history.length === 1 && j.attempts === 1)).toBe(
      true,
    );
    expect(await statsOf(r, q, ["started", "finished"])).toEqual(["600", "600"]);
    await w.stop();
    expect(await clients()).not.toContain(`name=courier-lane-${w.name} `);
  });

  test("two idle lanes block one at a time on the shared read connection: no false stall", async () => {
    const prefix = testPrefix();
    // One shard: the reads counted are those of its one read connection.
    await using q = await openQueue({ prefix, shards: 1 });
    await using r = await rawRedis();
    const log = logRecorder();
    // A second blocking read queued behind the first would wait up to 2 x blockMs, past its
    // guard (blockMs + commandTimeoutMs), and the read connection would be replaced as stalled.
    const w = await startWorker({
      prefix,
      tasks: [add],
      blockMs: 400,
      commandTimeoutMs: 300,
      logger: log,
      shards: 1,
    });
    // A window is the point here (a false stall shows only after a while): wait for the reads
    // themselves, six of them (the first takes, then four or more 400 ms blocking reads: a
    // stall would show after the second), not for a fixed time, and fail at the first stall.
    const stalled = () => log.events().includes("redis connection stalled; reconnecting");
    const reads = await commandCalls(r, "xreadgroup");
    await until(async () => {
      if (stalled()) throw new Error("the read connection was taken for stalled");
      return (await commandCalls(r, "xreadgroup")) >= reads + 6;
    }, "six reads while idle");
    expect(stalled()).toBe(false);
    const id = await q.enqueue("add", { a: 1, b: 1 });
    expect((await q.waitForJobs([id], { timeoutMs: 5_000 })).ended.get(id)?.result).toBe(2);
    await w.stop();
  });

  test("below concurrency 16 a worker takes jobs in one lane: no third connection", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const w = await startWorker({ prefix, tasks: [add], concurrency: 15 });
    const id = await q.enqueue("add", { a: 1, b: 2 });
    expect((await q.waitForJobs([id], { timeoutMs: 5_000 })).ended.get(id)?.result).toBe(3);
    const list = await clientList(r);
    expect(list).toContain(`name=courier-worker-${w.name} `);
    expect(list).not.toContain(`name=courier-lane-${w.name} `);
    await w.stop();
  });

  test("a delayed job runs once its time has come", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const w = await startWorker({ prefix, tasks: [add] });
    const before = Date.now();
    const id = await q.enqueue("add", { a: 1, b: 1 }, { delayMs: 150 });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)?.status).toBe("finished");
    expect(ended.get(id)!.startedAt! - before).toBeGreaterThanOrEqual(150);
    await w.stop();
  });
});
