// `bin/queue.ts pause|resume` end to end: real CLI workers counting pages served on loopback
// (a page request is a job's start), paused and resumed by the CLI. No job starts while paused,
// neither on a worker that was running nor on one started during the pause; a running job
// finishes; resume starts them all, once each. `info` and /metrics say it.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { backgroundWorker, gate, HTML, pages, triggerOne } from "./fixtures/cli/harness.ts";
import { redisUrl, runCli, testPrefix, until } from "./helpers.ts";

const queueCli = (prefix: string, ...args: string[]) =>
  runCli("queue", [...args, "--prefix", prefix]);

describe("bin/queue.ts pause and resume", () => {
  test("paused: no job starts on a running worker or one started during the pause; resume runs each once", async () => {
    const prefix = testPrefix();
    const slow = gate();
    /** When each page was asked for: a job's start. */
    const starts = new Map<string, number[]>();
    const site = pages(async (path) => {
      starts.set(path, [...(starts.get(path) ?? []), Date.now()]);
      if (path === "/slow") await slow.wait;
      return new Response("<html><body><p>one two</p></body></html>", { headers: HTML });
    });
    // Concurrency 1: a finish also takes the next entry (take mode), which a pause must stop too.
    const first = backgroundWorker(prefix, "--concurrency", "1", "--name", "w-first");
    let second: ReturnType<typeof backgroundWorker> | null = null;
    try {
      const running = await triggerOne(prefix, site.url("/slow"));
      await until(() => starts.has("/slow"), "the slow job to start");

      const paused = await queueCli(prefix, "pause", "default");
      expect(paused).toMatchObject({ code: 0, stderr: "" });
      expect(paused.stdout).toBe(
        "queue default paused: its workers start no new job within a second; jobs running finish\n",
      );
      const again = await queueCli(prefix, "pause", "default", "--json");
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual({ queue: "default", paused: true, changed: false });
      await first.logged("queue paused: taking no new jobs");

      const later: string[] = [];
      for (const n of [1, 2, 3]) later.push(await triggerOne(prefix, site.url(`/b/${n}`)));
      // The running job finishes, and its finish takes no next entry.
      slow.open();
      await first.logged("finished", running);
      // A worker started during the pause takes nothing either.
      second = backgroundWorker(prefix, "--concurrency", "4", "--name", "w-second");
      await second.logged("queue paused: taking no new jobs");
      await second.logged("worker started");

      // Each waits, or (a worker of several shards) was delivered by a read that began before the
      // pause, and is held unstarted, pending and leased, until the resume.
      const listed = async (state: string) =>
        JSON.parse((await queueCli(prefix, "jobs", "default", "--state", state, "--json")).stdout)
          .jobs as { id: string }[];
      const seen = [...(await listed("waiting")), ...(await listed("running"))].map((j) => j.id);
      expect(seen.sort()).toEqual([...later].sort());
      expect([1, 2, 3].map((n) => starts.get(`/b/${n}`))).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
      const info = await runCli("info", ["--prefix", prefix, "--queue", "default", "--json"]);
      expect(JSON.parse(info.stdout).queues[0].paused).toBe(true);
      const text = await runCli("info", ["--prefix", prefix, "--queue", "default"]);
      expect(text.stdout).toMatch(/^queue default {3}PAUSED: workers start no new job/m);
      await using admin = await openAdmin(prefix);
      expect(await admin.metrics()).toContain('courier_queue_paused{queue="default"} 1');

      const resumedAt = Date.now();
      const resumed = await queueCli(prefix, "resume", "default");
      expect(resumed).toMatchObject({ code: 0, stderr: "" });
      expect(resumed.stdout).toBe(
        "queue default resumed: its workers take jobs again within a second\n",
      );
      expect((await queueCli(prefix, "resume", "default")).stdout).toBe(
        "queue default: not paused\n",
      );
      const events = () => [...first.events(), ...(second?.events() ?? [])];
      await until(
        () => later.every((id) => events().some((e) => e.event === "finished" && e.job === id)),
        "every job to finish after resume",
      );
      for (const n of [1, 2, 3]) {
        const hits = starts.get(`/b/${n}`) ?? [];
        expect(hits).toHaveLength(1); // started once, and only after the resume was asked
        expect(hits[0]!).toBeGreaterThanOrEqual(resumedAt);
      }
      expect(await admin.metrics()).toContain('courier_queue_paused{queue="default"} 0');
    } finally {
      slow.open();
      for (const w of [first, second]) w?.proc.kill("SIGTERM");
      for (const w of [first, second]) if (w) expect((await w.ended()).code).toBe(0);
      site.stop();
    }
  });

  test("a pause holds across a worker's restart: stored in Redis", async () => {
    const prefix = testPrefix();
    const site = pages(() => new Response("<p>a b c</p>", { headers: HTML }));
    try {
      const id = await triggerOne(prefix, site.url("/x"));
      expect((await queueCli(prefix, "pause", "default")).code).toBe(0);
      for (const name of ["w-a", "w-b"]) {
        const w = backgroundWorker(prefix, "--name", name);
        await w.logged("queue paused: taking no new jobs");
        await w.logged("worker started");
        w.proc.kill("SIGTERM");
        expect((await w.ended()).code).toBe(0);
      }
      expect(site.hits("/x")).toBe(0);
      expect((await queueCli(prefix, "resume", "default")).code).toBe(0);
      const w = backgroundWorker(prefix, "--name", "w-c");
      await w.logged("finished", id);
      w.proc.kill("SIGTERM");
      expect((await w.ended()).code).toBe(0);
      expect(site.hits("/x")).toBe(1);
    } finally {
      site.stop();
    }
  });
});

async function openAdmin(prefix: string): Promise<Admin & AsyncDisposable> {
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
  return Object.assign(admin, { [Symbol.asyncDispose]: () => admin.close() });
}
