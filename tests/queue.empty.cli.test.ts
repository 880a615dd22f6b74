// `bin/queue.ts empty NAME --all` end to end: waiting and delayed jobs removed with their
// records (so `result` says unknown and an idempotency key is free again), a running job
// untouched and finishing, the count printed; and, with a worker taking jobs meanwhile, no job
// both removed and run, none run twice.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { backgroundWorker, gate, HTML, pages, triggerOne } from "./fixtures/cli/harness.ts";
import { openQueue, redisUrl, runCli, testPrefix, testShards, until } from "./helpers.ts";

const queueCli = (prefix: string, ...args: string[]) =>
  runCli("queue", [...args, "--prefix", prefix]);

const resultCode = async (prefix: string, id: string) =>
  (await runCli("result", ["--prefix", prefix, "--jobid", id, "--json"])).code;

describe("bin/queue.ts empty", () => {
  test("waiting and delayed go with their records; a running job finishes; the count is printed", async () => {
    const prefix = testPrefix();
    const slow = gate();
    const site = pages(async (path) => {
      if (path === "/slow") await slow.wait;
      return new Response("<p>one two</p>", { headers: HTML });
    });
    const worker = backgroundWorker(prefix, "--concurrency", "1", "--name", "w-empty");
    try {
      const running = await triggerOne(prefix, site.url("/slow"));
      await until(() => site.hits("/slow") === 1, "the slow job to start");
      // The worker is busy with it: these wait. (A worker of several shards may have been
      // delivered one already, held for its next free slot: that one is running, not removed.)
      const waiting: string[] = [];
      for (const n of [1, 2, 3]) waiting.push(await triggerOne(prefix, site.url(`/w/${n}`)));
      await using q = await openQueue({ prefix });
      const url = site.url("/later");
      waiting.push(await q.enqueue("wordcount", { url }, { id: "order-17" }));
      const delayed = [
        await q.enqueue("wordcount", { url }, { delayMs: 3_600_000 }),
        await q.enqueue("wordcount", { url }, { delayMs: 3_600_000, id: "later-9" }),
      ];

      const refused = await queueCli(prefix, "empty", "default");
      expect(refused.code).toBe(2);
      expect(refused.stderr).toStartWith(
        "queue: empty removes every waiting, delayed and parked job of queue default (running ones finish): say --all to do it\n",
      );
      const emptied = await queueCli(prefix, "empty", "default", "--all", "--json");
      expect(emptied).toMatchObject({ code: 0, stderr: "" });
      const count = JSON.parse(emptied.stdout);
      const codes = await Promise.all(waiting.map((id) => resultCode(prefix, id)));
      const removed = waiting.filter((_, i) => codes[i] === 4);
      // One shard: nothing was delivered while the only slot was busy, so all four went.
      if ((testShards() ?? 1) === 1) expect(removed).toEqual(waiting);
      expect(count).toEqual({
        queue: "default",
        removed: removed.length + 2,
        waiting: removed.length,
        delayed: 2,
        parked: 0,
      });
      const again = await queueCli(prefix, "empty", "default", "--all");
      expect(again.stdout).toBe(
        "removed 0 jobs from queue default (0 waiting, 0 delayed, 0 parked); running jobs untouched\n",
      );
      for (const id of delayed) expect(await resultCode(prefix, id)).toBe(4);
      // The idempotency keys of removed jobs are free again: the same id enqueues a new job.
      const keyed = { task: "wordcount", payload: { url: site.url("/again") } };
      const reused = await q.enqueueMany([
        { ...keyed, id: "order-17" },
        { ...keyed, id: "later-9" },
      ]);
      expect(reused.map((j) => j.created)).toEqual([removed.includes("order-17"), true]);

      slow.open();
      await worker.logged("finished", running);
      expect(await resultCode(prefix, running)).toBe(0);
      await worker.logged("finished", "later-9");
      // Removed jobs never ran; one held by the worker ran once.
      for (const [i, id] of waiting.entries()) {
        if (removed.includes(id)) continue;
        await worker.logged("finished", id);
        if (i < 3) expect(site.hits(`/w/${i + 1}`)).toBe(1);
      }
      for (const [i, id] of waiting.slice(0, 3).entries()) {
        if (removed.includes(id)) expect(site.hits(`/w/${i + 1}`)).toBe(0);
      }
    } finally {
      slow.open();
      worker.proc.kill("SIGTERM");
      expect((await worker.ended()).code).toBe(0);
      site.stop();
    }
  });

  test("while a worker takes jobs: each job either removed or run, never both, none twice", async () => {
    const prefix = testPrefix();
    // A page takes a little while: the worker is still taking jobs when the empty runs.
    const site = pages(async () => {
      await Bun.sleep(20);
      return new Response("<p>a</p>", { headers: HTML });
    });
    await using q = await openQueue({ prefix });
    const specs = Array.from({ length: 400 }, (_, i) => ({
      task: "wordcount",
      payload: { url: site.url(`/j/${i}`) },
    }));
    const ids = (await q.enqueueMany(specs)).map((j) => j.id);
    const worker = backgroundWorker(prefix, "--concurrency", "8", "--name", "w-race");
    try {
      await until(() => site.hits("/j/0") + site.hits("/j/399") > 0, "the worker to start");
      const emptied = await queueCli(prefix, "empty", "default", "--all", "--json");
      expect(emptied.code).toBe(0);
      const removed = JSON.parse(emptied.stdout).removed as number;
      expect(removed).toBeGreaterThan(0); // else the worker took every job first: no race
      const statuses = async () => {
        const jobs = await q.getJobs(ids);
        return jobs.map((j) => j?.status ?? "unknown");
      };
      // Jobs delivered before the empty run to their end; the others are unknown.
      await until(
        async () => (await statuses()).every((s) => s === "finished" || s === "unknown"),
        "delivered jobs to finish",
      );
      const final = await statuses();
      const finished = final.filter((s) => s === "finished").length;
      expect(finished + removed).toBe(ids.length);
      expect(final.filter((s) => s === "unknown")).toHaveLength(removed);
      for (const [i, s] of final.entries()) {
        expect(site.hits(`/j/${i}`)).toBe(s === "finished" ? 1 : 0);
      }
    } finally {
      worker.proc.kill("SIGTERM");
      expect((await worker.ended()).code).toBe(0);
      site.stop();
    }
  });

  test("parked jobs (no live worker has their task) go too, and their count with them", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const ids = [
      await q.enqueue("resize", { w: 1 }),
      await q.enqueue("resize", { w: 2 }, { id: "resize-2" }),
    ];
    // A worker without the task takes them and parks them: no live worker has it.
    const worker = backgroundWorker(prefix, "--name", "w-park");
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      const unserved = async () => (await admin.overview()).counts.unservedTasks;
      await until(async () => (await unserved())[0]?.jobs === 2, "both jobs parked");
      const emptied = await queueCli(prefix, "empty", "default", "--all", "--json");
      expect(JSON.parse(emptied.stdout)).toEqual({
        queue: "default",
        removed: 2,
        waiting: 0,
        delayed: 0,
        parked: 2,
      });
      expect(await unserved()).toEqual([]);
      for (const id of ids) expect(await resultCode(prefix, id)).toBe(4);
    } finally {
      await admin.close();
      worker.proc.kill("SIGTERM");
      expect((await worker.ended()).code).toBe(0);
    }
  });
});
