// A queue that filled Redis, where every job fails with a retryable error: on a full Redis a
// retry runs again at once on its worker (fail.lua run_again: no record, no delayed entry, no
// back-off), so Redis stays level while jobs use their attempts, and their last failures keep
// compact letters (the oldest dropped for them): the queue drains by itself at the default
// headroom (README, "Redis memory"). Before, each retry wrote a record and a delayed entry, the
// worker stopped starting jobs past its headroom, and the queue stalled with nothing dead.
import { expect, test } from "bun:test";
import { GROUP } from "../lib/engine/keys.ts";
import { fenceOf } from "../lib/fence/fence.ts";
import { STARTS_PER_READ } from "../lib/redis/memory.ts";
import { defineTask } from "../lib/types.ts";
import { fillWithJobs, startSmallRedis } from "./fixtures/redis-small.ts";
import { logRecorder, openQueue, pinShards, startWorker, testPrefix, until } from "./helpers.ts";

// These tests run on a small Redis of their own (tests/fixtures/redis-small.ts), as in the
// first pass, not on the cluster: its queues have one shard, whose keys the tests read.
pinShards(1);

const MAX_ATTEMPTS = 3;

// 4: the finish takes the next entries (take mode); 16: two read lanes. Either way a rerun runs
// in the slot its job held: never more jobs at once than the concurrency.
test.each([4, 16])(
  "a queue that filled Redis, where every job fails and may be retried: drains by itself, each job run maxAttempts times (concurrency %d)",
  async (concurrency) => {
    await using small = await startSmallRedis(2);
    const { prefix, q } = await fillWithJobs(small, { maxAttempts: MAX_ATTEMPTS });
    try {
      const cmd = <T = unknown>(args: string[]) => small.redis.sendCommand<T>(args);
      const stat = async (name: string) => Number(await cmd(["HGET", q.keys.stats, name]));
      const jobs = Number(await cmd(["XLEN", q.keys.stream]));
      expect(jobs).toBeGreaterThan(5_000);
      // The attempts each job was run with, in order.
      const attempts = new Map<number, number[]>();
      let running = 0;
      let most = 0;
      const fails = defineTask({
        name: "echo",
        run: async (p: { i: number }, _signal, job) => {
          attempts.set(p.i, [...(attempts.get(p.i) ?? []), job.attempt]);
          most = Math.max(most, ++running);
          // Ends on a later turn, so that runs overlap as real ones do.
          await new Promise((resolve) => setImmediate(resolve));
          running--;
          throw new Error(`upstream answered 503 for ${p.i}`);
        },
      });
      const log = logRecorder();
      const w = await startWorker({
        redisUrl: small.url,
        prefix,
        tasks: [fails],
        concurrency,
        logger: log,
      });
      await until(
        async () => (await stat("dead")) === jobs,
        "every job to fail for good, with no purge",
        90_000,
      );
      await w.stop();
      expect(log.events()).toContain("redis is out of memory");
      expect(Number(await cmd(["XLEN", q.keys.stream]))).toBe(0);
      expect(Number((await cmd<[number]>(["XPENDING", q.keys.stream, GROUP]))[0])).toBe(0);
      expect(Number(await cmd(["ZCARD", q.keys.delayed]))).toBe(0);
      // Each job ran exactly maxAttempts times, as attempts 1, 2, 3, and failed once.
      expect(attempts.size).toBe(jobs);
      const runs = [...attempts.values()].map((a) => a.join(","));
      expect(new Set(runs)).toEqual(new Set(["1,2,3"]));
      expect(most).toBeLessThanOrEqual(concurrency);
      expect(await stat("failed")).toBe(jobs);
      expect(await stat("retried")).toBe(jobs * (MAX_ATTEMPTS - 1));
      expect(await stat("started")).toBe(jobs * MAX_ATTEMPTS);
      // Each failure for good wrote one letter: kept, or dropped for a newer one and counted.
      const kept = Number(await cmd(["XLEN", q.keys.dead]));
      expect(kept + (await stat("dead_trimmed"))).toBe(jobs);
      // Level while retrying: within the bound of a failing queue (redis-full.worker.test.ts:
      // maxmemory + 10% + (concurrency + STARTS_PER_READ) jobs of 4 kB + the worker's connections
      // and scripts, its events and the 1,000 letters a full Redis keeps).
      const info = String(await cmd(["INFO", "memory"]));
      const peak = Number(/^used_memory_peak:(\d+)/m.exec(info)?.[1]);
      const bound =
        small.maxmemoryBytes * 1.1 + (concurrency + STARTS_PER_READ) * 4_096 + 800 * 1_024;
      expect(peak).toBeLessThan(bound);
    } finally {
      await q.close();
    }
  },
  120_000,
);

test("a job run again on a full Redis reads as started with its attempt; stopped, it is released with the failed attempt counted", async () => {
  await using small = await startSmallRedis(0);
  const prefix = testPrefix();
  await using q = await openQueue({ redisUrl: small.url, prefix, maxAttempts: MAX_ATTEMPTS });
  const id = await q.enqueue("echo", { i: 0 });
  await small.capBelowUsed();
  let second = () => {};
  const secondRuns = new Promise<void>((resolve) => {
    second = resolve;
  });
  // Attempt 1 fails; attempt 2 runs until the worker stops (it gives up its job then).
  const fences: string[] = [];
  const task = defineTask({
    name: "echo",
    run: (_p: unknown, signal, job) => {
      fences.push(job.fence);
      if (job.attempt === 1) throw new Error("upstream answered 503");
      second();
      return new Promise((resolve) => signal.addEventListener("abort", () => resolve(null)));
    },
  });
  const log = logRecorder();
  const w = await startWorker({ redisUrl: small.url, prefix, tasks: [task], logger: log });
  await secondRuns;
  expect(log.events()).toContain("failed, will retry at once (Redis is full)");
  expect(await q.getJob(id)).toMatchObject({ status: "started", attempts: 2, worker: w.name });
  // Nothing written for the retry: no record, no delayed entry.
  const cmd = (args: string[]) => small.redis.sendCommand(args);
  expect(Number(await cmd(["EXISTS", q.keys.record(id)]))).toBe(0);
  expect(Number(await cmd(["ZCARD", q.keys.delayed]))).toBe(0);
  // The same entry, its delivery count one up (RETRYCOUNT): a higher fence (lib/fence/fence.ts).
  expect(fences).toEqual([fenceOf(id, 1), fenceOf(id, 2)]);
  await w.stop(0);
  // The unfinished attempt 2 is not counted; attempt 1, which failed, is.
  expect(await q.getJob(id)).toMatchObject({ status: "queued", attempts: 1 });
});
