// A job's history (each attempt's worker, start, end and error), written by the start, finish
// and fail scripts inside the calls they already make, and shown by `result`.
import { describe, expect, test } from "bun:test";
import { PermanentError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import {
  oneShardFile,
  openQueue,
  rawRedis,
  redisTime,
  runCli,
  startWorker,
  testPrefix,
} from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

describe("history", () => {
  test("each attempt records its worker, start, end, outcome and error", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    let calls = 0;
    const flaky = defineTask({
      name: "flaky",
      run: async () => {
        if (++calls < 3) throw new Error(`boom ${calls}`);
        return "ok";
      },
    });
    // Every time in the history is Redis' (the scripts read TIME): none before this read.
    const before = await redisTime(r);
    const w = await startWorker({ prefix, tasks: [flaky], name: "w-hist" });
    const id = await q.enqueue("flaky", null);
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    await w.stop();
    const job = ended.get(id)!;
    expect(job.status).toBe("finished");
    expect(job.history.map((a) => [a.attempt, a.worker, a.outcome, a.error])).toEqual([
      [1, "w-hist", "retrying", "boom 1"],
      [2, "w-hist", "retrying", "boom 2"],
      [3, "w-hist", "finished", null],
    ]);
    for (const a of job.history) {
      expect(a.startedAt).toBeGreaterThanOrEqual(before);
      expect(a.endedAt).toBeGreaterThanOrEqual(a.startedAt!);
    }
  });

  test("a dead job's last attempt holds its error; the history keeps the last 20 attempts", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 22 });
    await using r = await rawRedis();
    const broken = defineTask({
      name: "broken",
      run: async (_p, _s, job) => {
        if (job.attempt === 22) throw new PermanentError("gave up");
        throw new Error(`failure ${job.attempt}`);
      },
    });
    const w = await startWorker({ prefix, tasks: [broken], backoffBaseMs: 1, backoffMaxMs: 1 });
    const id = await q.enqueue("broken", null);
    const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
    await w.stop();
    const job = ended.get(id)!;
    expect(job).toMatchObject({ status: "failed", attempts: 22, error: "gave up" });
    expect(job.history).toHaveLength(20);
    expect(job.history[0]).toMatchObject({ attempt: 3, error: "failure 3", outcome: "retrying" });
    expect(job.history[19]).toMatchObject({ attempt: 22, error: "gave up", outcome: "failed" });
    // The record itself holds no more (a job that keeps failing must not grow it): runs 2 to 21
    // (the 22nd, the last, is in its outcome), run 1 dropped when run 21 began.
    const fields = (await r.sendCommand(["HKEYS", q.keys.record(id)])) as string[];
    const runs = fields.filter((f) => /^h:\d+$/.test(f)).map((f) => Number(f.slice(2)));
    expect(runs.sort((a, b) => a - b)).toEqual([...Array(20).keys()].map((i) => i + 2));
  });

  test("finish and fail count per minute and the run-time histogram, in the same calls", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const t0 = await redisTime(r);
    const ok = defineTask({ name: "ok", run: async () => 1 });
    const no = defineTask({
      name: "no",
      run: async () => {
        throw new PermanentError("no");
      },
    });
    const w = await startWorker({ prefix, tasks: [ok, no] });
    const ids = await q.enqueueMany([
      { task: "ok" },
      { task: "ok" },
      { task: "ok" },
      { task: "no" },
    ]);
    await q.waitForJobs(
      ids.map((j) => j.id),
      { timeoutMs: 5_000 },
    );
    await w.stop();
    const t1 = await redisTime(r);
    // Counted in the minutes of Redis' clock that the run spans (one, or two at a minute's end).
    const [first, last] = [Math.floor(t0 / 60_000), Math.floor(t1 / 60_000)];
    const minutes = toObject(await r.sendCommand(["HGETALL", q.keys.minutes]));
    const counted = (name: string) =>
      Object.entries(minutes)
        .filter(([k]) => k.endsWith(`:${name}`) && Number(k.split(":")[0]) >= first)
        .filter(([k]) => Number(k.split(":")[0]) <= last)
        .reduce((n, [, v]) => n + Number(v), 0);
    expect([counted("finished"), counted("failed"), counted("retried")]).toEqual([3, 1, 0]);
    expect(Number(minutes.trimmed)).toBeGreaterThanOrEqual(first);
    expect(Number(minutes.trimmed)).toBeLessThanOrEqual(last);
    const { sum_ms, ...buckets } = toObject(await r.sendCommand(["HGETALL", q.keys.durations]));
    expect(Number(sum_ms)).toBeLessThanOrEqual(3 * (t1 - t0));
    expect(Object.values(buckets).reduce((n, v) => n + Number(v), 0)).toBe(3);
  });

  test("`result --json` and `result` show the attempts", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const once = defineTask({
      name: "once",
      run: async (_p, _s, job) => {
        if (job.attempt === 1) throw new Error("first try <b>fails</b>");
        return { done: true };
      },
    });
    const w = await startWorker({ prefix, tasks: [once], name: "w-cli" });
    const id = await q.enqueue("once", null);
    await q.waitForJobs([id], { timeoutMs: 5_000 });
    await w.stop();
    const json = await runCli("result", ["--prefix", prefix, "--jobid", id, "--json"]);
    expect(json.code).toBe(0);
    const shown = JSON.parse(json.stdout);
    expect(shown.history).toEqual([
      {
        attempt: 1,
        worker: "w-cli",
        startedAt: expect.stringMatching(/^\d{4}-.*Z$/),
        endedAt: expect.stringMatching(/^\d{4}-.*Z$/),
        outcome: "retrying",
        error: "first try <b>fails</b>",
      },
      expect.objectContaining({ attempt: 2, worker: "w-cli", outcome: "finished", error: null }),
    ]);
    const text = await runCli("result", ["--prefix", prefix, "--jobid", id]);
    expect(text.stdout).toMatch(
      /^history:\n {2}#1 {2}worker w-cli .* retrying: first try <b>fails<\/b>\n {2}#2 {2}worker w-cli .* finished$/m,
    );
  });
});

function toObject(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}
