// A server that says "slow down", through real workers (docs/internals.md, "Rate limits"): the
// word-count task turns a 429 with Retry-After into a HeldError, the worker holds that host's
// key on every worker for that long and gives the job back without spending an attempt, while
// another host keeps running; a host that always answers 429 ends its job after maxHolds with
// the reason; a task module's plain error with code EHELD does the same. Runs on a cluster too
// (COURIER_TEST_CLUSTER=1: the hold is under the queue's tag, the job's give-back on its shard).
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { createWordCountTask } from "../lib/tasks/wordcount/index.ts";
import { defineTask } from "../lib/types.ts";
import { openQueue, redisUrl, servePages, startWorker, testPrefix, until } from "./helpers.ts";

const wordcount = createWordCountTask({ allowPrivate: true, timeoutMs: 5_000 });
const page = () =>
  new Response("<p>three small words</p>", { headers: { "content-type": "text/html" } });

/** A host that answers its first `throttled` requests 429 with `Retry-After: <retryAfter>`. */
function site(throttled: number, retryAfter: string) {
  const arrivals: { path: string; at: number; status: number }[] = [];
  const server = servePages((req) => {
    const status = arrivals.length < throttled ? 429 : 200;
    arrivals.push({ path: new URL(req.url).pathname, at: Date.now(), status });
    if (status === 200) return page();
    return new Response("slow down", { status, headers: { "retry-after": retryAfter } });
  });
  const host = `127.0.0.1:${server.port}`;
  const stop = () => server.stop(true);
  return { arrivals, host, stop, url: (path: string) => `http://${host}/${path}` };
}

describe("a 429 with Retry-After", () => {
  test("holds only that host, for that long, on every worker; no attempt spent", async () => {
    const prefix = testPrefix();
    const slow = site(1, "3");
    const fast = site(0, "0");
    await using q = await openQueue({ prefix, queue: "crawl" });
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "crawl" });
    const worker = { prefix, queue: "crawl", tasks: [wordcount], concurrency: 4 };
    const workers = [await startWorker(worker)];
    try {
      const first = await q.enqueue(wordcount, { url: slow.url("first") });
      // The 429 was answered and the host is held (by Redis' clock, till its next slot).
      await until(async () => (await admin.limitsView()).heldTotal === 1, "the hold");
      const held = (await admin.limitsView()).held[0]!;
      expect(held.key).toBe(slow.host);
      expect(slow.arrivals).toHaveLength(1);
      // `result` reads the held job as queued till then, saying why.
      const note = `held back by a rate limit (key ${JSON.stringify(slow.host)})`;
      await until(async () => (await q.getJob(first))?.note === note, "the job given back");
      expect(await q.getJob(first)).toMatchObject({ status: "queued", attempts: 0 });
      // A second worker: it reads the queue's holds before it takes a job (the first knows of
      // its own hold at once; a worker running already learns of one within pauseCheckMs).
      workers.push(await startWorker(worker));
      // Meanwhile: another page of the held host waits, the other host's pages all run.
      const second = await q.enqueue(wordcount, { url: slow.url("second") });
      const others = await q.enqueueMany(
        Array.from({ length: 6 }, (_, i) => ({
          task: wordcount,
          payload: { url: fast.url(`p${i}`) },
        })),
      );
      const done = await q.waitForJobs(
        others.map((o) => o.id),
        { timeoutMs: 10_000 },
      );
      expect(done.pending).toEqual([]);
      expect(fast.arrivals).toHaveLength(6);
      // Held till the hold's end: nothing of the held host was asked for before it.
      const both = await q.waitForJobs([first, second], { timeoutMs: 15_000 });
      expect(both.pending).toEqual([]);
      expect(slow.arrivals.map((a) => a.path).sort()).toEqual(["/first", "/first", "/second"]);
      for (const a of slow.arrivals.slice(1)) expect(a.at).toBeGreaterThanOrEqual(held.nextMs);
      // The held run spent no attempt and left no run in the history.
      const job = (await q.getJob(first))!;
      expect(job).toMatchObject({ status: "finished", attempts: 1 });
      expect(job.history).toHaveLength(1);
      expect((await q.getJob(second))!.attempts).toBe(1);
    } finally {
      await Promise.all(workers.map((w) => w.stop(1_000)));
      slow.stop();
      fast.stop();
      await admin.close();
    }
  }, 30_000);

  test("a host that always answers 429 fails its job for good after maxHolds, saying why", async () => {
    const prefix = testPrefix();
    const never = site(Number.POSITIVE_INFINITY, "0");
    await using q = await openQueue({ prefix, queue: "crawl" });
    const w = await startWorker({ prefix, queue: "crawl", tasks: [wordcount], maxHolds: 2 });
    const id = await q.enqueue(wordcount, { url: never.url("x") });
    const done = await q.waitForJobs([id], { timeoutMs: 15_000 });
    await w.stop(1_000);
    never.stop();
    expect(done.pending).toEqual([]);
    const job = (await q.getJob(id))!;
    expect(job.status).toBe("failed");
    expect(job.error).toBe(
      `HTTP 429 Too Many Requests from ${never.url("x")} (retry after 0 s) (held 2 times by its task, the most a job may be (maxHolds 2): failed for good)`,
    );
    // Two holds, then the answer that failed it: one attempt in all.
    expect(never.arrivals).toHaveLength(3);
    expect(job.attempts).toBe(1);
  }, 30_000);
});

describe("code EHELD", () => {
  test("a task module's plain error with code EHELD holds the job without spending an attempt", async () => {
    const prefix = testPrefix();
    let runs = 0;
    const busy = defineTask({
      name: "busy",
      run: async () => {
        runs++;
        if (runs === 1)
          throw Object.assign(new Error("busy, come back"), { code: "EHELD", retryAfterMs: 10 });
        return "ok";
      },
    });
    await using q = await openQueue({ prefix, queue: "q" });
    const w = await startWorker({ prefix, queue: "q", tasks: [busy] });
    const id = await q.enqueue("busy", null, { maxAttempts: 1 });
    const done = await q.waitForJobs([id], { timeoutMs: 10_000 });
    await w.stop(1_000);
    expect(done.pending).toEqual([]);
    // With one attempt allowed, a failure would have ended it: the hold spent none.
    expect(await q.getJob(id)).toMatchObject({ status: "finished", attempts: 1 });
    expect(runs).toBe(2);
  });
});
