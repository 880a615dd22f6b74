// A wait with no time left (`timeoutMs: 0`, `trigger --wait 0`) still looks once: a job that has
// already ended is reported as ended, not as unfinished. And `trigger --wait` says it timed out
// only when a job it reads back is still open: a job the wait's deadline left unread (part-way
// through a first look of many jobs) that has ended is not "still not finished".
import { describe, expect, test } from "bun:test";
import { waitForAll } from "../lib/cli/trigger-wait.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { asClient, runJob } from "./fixtures/engine.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { finishedByAnotherQueue } from "./fixtures/waits.ts";
import { openQueue, rawRedis, runCli, testPrefix } from "./helpers.ts";

describe("a wait with no time left looks once", () => {
  test("a finished job another Queue enqueued: ended, not pending", async () => {
    await using job = await finishedByAnotherQueue();
    const { q, id } = job;
    const { ended, pending } = await q.waitForJobs([id], { timeoutMs: 0 });
    expect(pending).toEqual([]);
    expect(ended.get(id)).toMatchObject({ status: "finished", result: 4 });
  });

  test("a finished job the same Queue just enqueued (no first look): ended, not pending", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const id = await q.enqueue("t", 2);
    await runJob(asClient(r), keysOf(q, id), [{ worker: "w1", result: "4" }]);
    const { ended, pending } = await q.waitForJobs([id], { timeoutMs: 0 });
    expect(pending).toEqual([]);
    expect(ended.get(id)).toMatchObject({ status: "finished", result: 4 });
  });

  test("trigger --wait 0 for a job that finished: its record, exit 0", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue: "q1" });
    await using r = await rawRedis();
    const args = ["--prefix", prefix, "--queue", "q1", "--id-from-url"];
    const url = "http://127.0.0.1:9/a";
    const first = await runCli("trigger", [...args, "--url", url]);
    expect(first.code).toBe(0);
    const id = first.stdout.trim(); // the id the URL gives it: the job's shard follows
    await runJob(asClient(r), keysOf(q, id), [{ worker: "w1", result: '{"words":3}' }]);
    const waited = await runCli("trigger", [...args, "--url", url, "--wait", "0"]);
    expect(waited.stderr).not.toContain("still not finished");
    expect(waited.stdout).toMatch(/finished/);
    expect(waited.code).toBe(0);
  });
});

describe("trigger --wait: timed out only if a job read back is still open", () => {
  /** The queue, with a wait that ran out of time before reading any job. */
  const cutShort = (q: Queue) =>
    ({
      waitForJobs: async (ids: readonly string[]) => ({ ended: new Map(), pending: [...ids] }),
      getJobs: (ids: readonly string[]) => q.getJobs(ids),
    }) as unknown as Queue;

  test("jobs left pending by the deadline that read back as ended: not timed out", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const id = await q.enqueue("t", 2);
    await runJob(asClient(r), keysOf(q, id), [{ worker: "w1", result: "4" }]);
    const waited = await waitForAll(cutShort(q), [id], 0, () => {});
    expect(waited).toEqual({ timedOut: false, allFinished: true, open: 0, total: 1 });
  });

  test("a job that reads back still queued: timed out", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const id = await q.enqueue("t", 2);
    const waited = await waitForAll(cutShort(q), [id], 0, () => {});
    expect(waited).toMatchObject({ timedOut: true, open: 1, total: 1 });
    expect(waited.firstOpen).toEqual({ id, status: "queued" });
  });
});
