// How a worker learns of a cancel of a job it holds or runs (lib/worker/cancels.ts, the shard's
// `canceled` stream; lib/worker/running.ts): a step of Redis' clock hides no cancel (the look
// goes on by stream id, not by time), a cancel during a graceful stop still aborts the task
// (the look runs until the wind-down ends), and a held job canceled in a batch of thousands
// never starts (held entries are marked, not only remembered among the last 1,000 ids).
import { afterEach, expect, test } from "bun:test";
import { destroy } from "../lib/redis/close.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { defineTask } from "../lib/types.ts";
import { oneDelivered } from "./fixtures/one-delivered.ts";
import { shardsOf } from "./fixtures/queue-shards.ts";
import {
  oneShardFile,
  openQueue,
  rawRedis,
  redisTime,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

const clients: Redis[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) destroy(c);
});

// The held-entry test writes one shard's keys by hand.
oneShardFile();

test("an entry of the canceled stream from a clock a day ahead: later cancels still abort running jobs", async () => {
  const prefix = testPrefix();
  const started = new Set<number>();
  const aborted = new Set<number>();
  const slow = defineTask({
    name: "slow",
    run: (p: { n: number }, signal: AbortSignal) =>
      new Promise((resolve) => {
        started.add(p.n);
        signal.addEventListener("abort", () => {
          aborted.add(p.n);
          resolve(0);
        });
      }),
  });
  await using q = await openQueue({ prefix });
  await using r = await rawRedis();
  const [k] = shardsOf(q);
  const w = await startWorker({ prefix, tasks: [slow], cancelCheckMs: 50, concurrency: 2 });
  try {
    const [one, two] = [await q.enqueue(slow, { n: 1 }), await q.enqueue(slow, { n: 2 })];
    await until(async () => started.has(1) && started.has(2), "both jobs to start");
    // A cancel made while Redis' clock was a day ahead (simulated: the entry it would add);
    // the clock came back since. The look that brings job 1's cancel reads past that entry.
    const ahead = (await redisTime(r)) + 86_400_000;
    await r.sendCommand(["XADD", k!.canceled, `${ahead}-0`, "ids", "some-other-job"]);
    expect((await q.cancel([one]))[0]).toMatchObject({ verdict: "canceled", from: "started" });
    await until(async () => aborted.has(1), "job 1's signal to fire");
    expect((await q.cancel([two]))[0]).toMatchObject({ verdict: "canceled", from: "started" });
    await until(async () => aborted.has(2), "job 2's signal to fire");
  } finally {
    await w.stop(0);
  }
}, 30_000);

test("cancel during the shutdown grace aborts the running task", async () => {
  const prefix = testPrefix();
  let started = false;
  let abortedAt: number | null = null;
  const slow = defineTask({
    name: "slow",
    run: (_p: unknown, signal: AbortSignal) =>
      new Promise((resolve) => {
        started = true;
        signal.addEventListener("abort", () => {
          abortedAt = performance.now();
          resolve(0);
        });
        setTimeout(() => resolve(1), 20_000);
      }),
  });
  await using q = await openQueue({ prefix });
  const w = await startWorker({
    prefix,
    tasks: [slow],
    shutdownGraceMs: 20_000,
    cancelCheckMs: 100,
  });
  const id = await q.enqueue(slow, {});
  await until(async () => started, "the job to start");
  const stopping = w.stop(20_000);
  try {
    // Taken before the cancel is sent: the abort may land before the reply is handled here.
    const cancelSentAt = performance.now();
    const [v] = await q.cancel([id]);
    expect(v).toMatchObject({ verdict: "canceled", from: "started" });
    await until(async () => abortedAt !== null, "the abort", 10_000);
    expect(abortedAt).toBeGreaterThan(cancelSentAt);
  } finally {
    await stopping;
  }
}, 60_000);

test("a held job canceled in a bulk cancel of 1,001+ ids does not start", async () => {
  const runs: string[] = [];
  const echo = defineTask({
    name: "echo",
    run: async (_: unknown, _s, job) => void runs.push(job.id),
  });
  const { jobs } = await oneDelivered(echo, clients);
  const held = {
    entryId: "1000-1",
    jobId: "1000-1",
    task: "echo",
    payload: "1",
    attempt: 1,
    maxAttempts: 3,
    runNo: 1,
    hasRecord: false,
    deliveries: 1,
  };
  jobs.held.set(held.entryId, held);
  // What one CancelWatch.look does with the ids it read, in score order.
  jobs.cancel("1000-1");
  for (let i = 0; i < 1_000; i++) jobs.cancel(`other-${i}`);
  jobs.launch(held, "read"); // the resume (or a freed slot) starts the held entry
  await until(async () => jobs.inFlight === 0, "the attempt to end");
  expect(runs).toEqual([]);
  jobs.close();
});
