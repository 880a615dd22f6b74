// Retries wait in the delayed set, scored by Redis' time + back-off: base · 2^(attempt−1),
// capped, times a jitter factor 0.75 + random · 0.5; a task's own delay (Retry-After) is used as
// given, kept within 0 and the cap (docs/internals.md, "Fail and retry"). The worker's random
// source is injected, so every delay is exact; the time it is added to lies between two reads of
// Redis' TIME. Promotion moves only jobs that still exist.
import { describe, expect, test } from "bun:test";
import { RetryableError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import {
  logRecorder,
  oneShardFile,
  openQueue,
  rawRedis,
  redisTime,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

describe("back-off", () => {
  test("the delayed-set score for attempts 1..5: doubling, the cap, jitter, a Retry-After", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 6 });
    await using r = await rawRedis();
    // Attempts 1-3 fail plainly; 4 asks for 2.5 s; 5 asks for ten years (capped); 6 succeeds.
    const asks: Record<number, number> = { 4: 2_500, 5: 10 * 365 * 86_400_000 };
    const flaky = defineTask({
      name: "flaky",
      run: async (_p: null, _s, job) => {
        if (job.attempt === 6) return "ok";
        const ask = asks[job.attempt];
        if (ask !== undefined) throw new RetryableError("later", { retryAfterMs: ask });
        throw new Error(`boom ${job.attempt}`);
      },
    });
    // random 0.25: jitter factor 0.875. Base 1 s, cap 3 s.
    const w = await startWorker({
      prefix,
      tasks: [flaky],
      random: () => 0.25,
      backoffBaseMs: 1_000,
      backoffMaxMs: 3_000,
    });
    let before = await redisTime(r);
    const id = await q.enqueue("flaky", null);
    // 1: 1000 · 0.875; 2: 2000 · 0.875; 3: min(4000, 3000) · 0.875; 4: as asked; 5: the cap.
    const expected = [875, 1_750, 2_625, 2_500, 3_000];
    for (let attempt = 1; attempt <= expected.length; attempt++) {
      await until(async () => {
        const job = await q.getJob(id);
        // Ran again before the clock reached its retry time: it was not delayed at all.
        if ((job?.attempts ?? 0) > attempt) throw new Error(`attempt ${attempt} was not delayed`);
        return job?.status === "retrying" && job.attempts === attempt;
      }, `attempt ${attempt} to be scheduled for a retry`);
      const after = await redisTime(r);
      const score = Number(await r.sendCommand(["ZSCORE", q.keys.delayed, id]));
      const delay = expected[attempt - 1]!;
      expect(score).toBeGreaterThanOrEqual(before + delay);
      expect(score).toBeLessThanOrEqual(after + delay);
      before = await redisTime(r);
      await r.sendCommand(["ZADD", q.keys.delayed, "0", id]); // due now: promoted and run again
    }
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", attempts: 6 });
    await w.stop();
  });
});

describe("promotion", () => {
  test("a delayed job whose record was deleted is neither re-added nor recreated", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const runs: string[] = [];
    const job = defineTask({
      name: "job",
      run: async (p: string) => {
        runs.push(p);
        return p;
      },
    });
    const gone = await q.enqueue("job", "gone", { delayMs: 1_000 });
    const kept = await q.enqueue("job", "kept", { delayMs: 1_000 });
    expect(Number(await r.sendCommand(["ZCARD", q.keys.delayed]))).toBe(2);
    await r.sendCommand(["DEL", q.keys.record(gone)]); // expired or deleted while it waited
    const log = logRecorder();
    // Both due now (Redis' clock decides: no injected clock moves it).
    await r.sendCommand(["ZADD", q.keys.delayed, "0", gone, "0", kept]);
    const w = await startWorker({ prefix, tasks: [job], logger: log });
    // Both are due; the kept one runs, which shows promotion has looked at both.
    const { ended } = await q.waitForJobs([kept], { timeoutMs: 5_000 });
    expect(ended.get(kept)?.status).toBe("finished");
    expect(Number(await r.sendCommand(["ZCARD", q.keys.delayed]))).toBe(0);
    expect(await r.sendCommand(["EXISTS", q.keys.record(gone)])).toBe(0); // no stub record
    expect(runs).toEqual(["kept"]);
    expect(await r.sendCommand(["HGET", q.keys.stats, "started"])).toBe("1");
    // Nothing was added for it: no entry came to be settled as "record gone".
    expect(log.events().filter((e) => e.startsWith("job record is gone"))).toEqual([]);
    await w.stop();
  });
});
