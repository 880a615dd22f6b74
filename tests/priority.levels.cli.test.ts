// Priority levels within one queue (`trigger --priority high|normal|low`) through the real CLIs:
// pages served (and held) by the test, the order of the page requests being the order the worker
// started the jobs. lib/engine/keys.ts levelKeys, lib/worker/queues.ts, docs/internals.md
// "Priority levels". On one Redis and, in the cluster pass, on queues of six shards.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { startDashboard } from "../lib/dashboard/server.ts";
import { levelKeys, shardKeys } from "../lib/engine/keys.ts";
import { mastersOf } from "../lib/redis/cluster.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { backgroundWorker, workerArgs } from "./fixtures/cli/harness.ts";
import { deliveredOn, orderedSite } from "./fixtures/cli/ordered-site.ts";
import {
  onOneServer,
  rawRedis,
  redisUrl,
  runCli,
  testPrefix,
  testShards,
  until,
} from "./helpers.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const site = orderedSite;

/** `trigger --file -` of the given URLs at `priority`: every line enqueued. */
async function triggerAll(prefix: string, priority: string, urls: string[]): Promise<void> {
  const args = ["--prefix", prefix, "--priority", priority, "--file", "-"];
  const r = await runCli("trigger", args, { stdin: `${urls.join("\n")}\n` });
  expect(r.code).toBe(0);
}

/** `trigger --url URL` with more options; the id printed. */
async function trigger(prefix: string, url: string, ...more: string[]): Promise<string> {
  const r = await runCli("trigger", ["--prefix", prefix, "--url", url, ...more]);
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

/** The default queue's keys at `level`, every shard's. */
function at(prefix: string, level: "high" | "normal" | "low") {
  return shardKeys(prefix, "default", testShards() ?? 1).map((k) => levelKeys(k, level));
}

async function resultJson(prefix: string, id: string): Promise<Record<string, unknown>> {
  const r = await runCli("result", ["--prefix", prefix, "--jobid", id, "--json"]);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe("trigger --priority", () => {
  test("saturated with slow low jobs, one high job starts before the next low batch", async () => {
    const prefix = testPrefix();
    const s = site();
    await triggerAll(
      prefix,
      "low",
      Array.from({ length: 8 }, (_, i) => s.url(`/slow/low-${i}`)),
    );
    const w = backgroundWorker(prefix, "--concurrency", "2");
    await until(() => s.held.length === 2, "both slots busy with low jobs");
    const id = await trigger(prefix, s.url("/high"), "--priority", "high");
    expect(id).toMatch(UUID);
    await using r = await rawRedis();
    // Delivered to the worker (held for a slot) before any slot frees.
    const high = at(prefix, "high").map((k) => k.stream);
    await until(async () => (await deliveredOn(r, high)) === 1, "the high job delivered");
    s.held.shift()?.(); // one low page answers: its slot goes to the high job
    await w.logged("finished", id);
    const kinds = s.order.map((p) => (p.startsWith("/slow/") ? "low" : p));
    expect(kinds.slice(0, 3)).toEqual(["low", "low", "/high"]);
    w.proc.kill("SIGTERM");
    for (const open of s.held.splice(0)) open();
    expect((await w.ended()).code).toBe(0);
    s.stop();
  });

  test("strict order at concurrency 1: every high job, then every normal one, then every low one", async () => {
    const prefix = testPrefix();
    const s = site();
    for (const level of ["low", "normal", "high"]) {
      await triggerAll(
        prefix,
        level,
        [1, 2, 3].map((i) => s.url(`/${level}/${i}`)),
      );
    }
    const res = await runCli("worker", workerArgs(prefix, "--concurrency", "1", "--burst"));
    expect(res.code).toBe(0);
    expect(s.order.map((p) => p.split("/")[1])).toEqual([
      ...["high", "high", "high"],
      ...["normal", "normal", "normal"],
      ...["low", "low", "low"],
    ]);
    s.stop();
  });

  test("an --id is one job across levels: a second trigger at another level enqueues nothing", async () => {
    const prefix = testPrefix();
    const url = "http://127.0.0.1:9/page";
    expect(await trigger(prefix, url, "--id", "order-7", "--priority", "high")).toBe("order-7");
    const again = await runCli("trigger", [
      ...["--prefix", prefix, "--url", url, "--id", "order-7", "--priority", "low", "--json"],
    ]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ id: "order-7", created: false });
    await using r = await rawRedis();
    const count = async (level: "high" | "normal" | "low") => {
      let n = 0;
      for (const k of at(prefix, level)) n += Number(await r.sendCommand(["XLEN", k.stream]));
      return n;
    };
    expect([await count("high"), await count("normal"), await count("low")]).toEqual([1, 0, 0]);
    expect(await resultJson(prefix, "order-7")).toMatchObject({
      status: "queued",
      priority: "high",
    });
  });

  test("result shows a job's priority at each level (none for normal), text and --json", async () => {
    const prefix = testPrefix();
    const s = site();
    const ids: Record<string, string> = {};
    for (const level of ["high", "normal", "low"]) {
      ids[level] = await trigger(prefix, s.url(`/${level}`), "--priority", level);
    }
    for (const level of ["high", "low"]) {
      expect(await resultJson(prefix, ids[level]!)).toMatchObject({
        status: "queued",
        priority: level,
      });
      const text = await runCli("result", ["--prefix", prefix, "--jobid", ids[level]!]);
      expect(text.stdout).toMatch(new RegExp(`^priority: +${level}$`, "m"));
    }
    expect(await resultJson(prefix, ids.normal!)).not.toHaveProperty("priority");
    const res = await runCli("worker", workerArgs(prefix, "--concurrency", "1", "--burst"));
    expect(res.code).toBe(0);
    for (const level of ["high", "low"]) {
      expect(await resultJson(prefix, ids[level]!)).toMatchObject({
        status: "finished",
        priority: level,
      });
    }
    s.stop();
  });

  test("a queued high job canceled never runs (its entry is out of the high stream)", async () => {
    const prefix = testPrefix();
    const s = site();
    const id = await trigger(prefix, s.url("/high"), "--priority", "high");
    const other = await trigger(prefix, s.url("/low"), "--priority", "low");
    const c = await runCli("cancel", ["--prefix", prefix, "--jobid", id]);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain("queued");
    const res = await runCli("worker", workerArgs(prefix, "--concurrency", "1", "--burst"));
    expect(res.code).toBe(0);
    expect(s.order).toEqual(["/low"]);
    expect(await resultJson(prefix, id)).toMatchObject({ status: "canceled" });
    expect(await resultJson(prefix, other)).toMatchObject({ status: "finished" });
    s.stop();
  });

  test("queue.ts jobs lists waiting and delayed jobs of every level; empty removes them all", async () => {
    const prefix = testPrefix();
    const url = "http://127.0.0.1:9/page";
    const high = await trigger(prefix, url, "--priority", "high");
    const normal = await trigger(prefix, url);
    const low = await trigger(prefix, url, "--priority", "low");
    const later = await trigger(prefix, url, "--priority", "low", "--delay", "1h");
    const list = async (state: string) => {
      const args = ["jobs", "default", "--state", state, "--limit", "10", "--json"];
      const r = await runCli("queue", [...args, "--prefix", prefix]);
      expect(r.code).toBe(0);
      return (JSON.parse(r.stdout) as { jobs: { id: string }[] }).jobs.map((j) => j.id).sort();
    };
    expect(await list("waiting")).toEqual([high, normal, low].sort());
    expect(await list("delayed")).toEqual([later]);
    const info = await runCli("info", ["--prefix", prefix, "--queue", "default", "--json"]);
    expect(JSON.parse(info.stdout).queues[0]).toMatchObject({
      waiting: 3,
      delayed: 1,
      byPriority: {
        high: { waiting: 1, inFlight: 0, delayed: 0 },
        normal: { waiting: 1, inFlight: 0, delayed: 0 },
        low: { waiting: 1, inFlight: 0, delayed: 1 },
      },
    });
    const text = await runCli("info", ["--prefix", prefix, "--queue", "default"]);
    expect(text.stdout).toContain(
      "  priority   high 1/0/0   normal 1/0/0   low 1/0/1 (waiting/in flight/delayed)\n",
    );
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, shards: testShards() });
    const metrics = await admin.metrics().finally(() => admin.close());
    // The dashboard's overview (its "Waiting by priority" card) reads the same numbers.
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
    const overview = await fetch(`${d.url}/api/overview`)
      .then((r) => r.json() as Promise<{ counts: { byPriority: unknown } }>)
      .finally(() => d.stop());
    expect(overview.counts.byPriority).toMatchObject({ high: { waiting: 1 }, low: { delayed: 1 } });
    for (const level of ["high", "normal", "low"]) {
      expect(metrics).toContain(
        `courier_jobs_waiting_priority{queue="default",priority="${level}"} 1\n`,
      );
    }
    const r = await runCli("queue", ["empty", "default", "--all", "--json", "--prefix", prefix]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ waiting: 3, delayed: 1 });
    expect(await list("waiting")).toEqual([]);
    expect(await list("delayed")).toEqual([]);
  });

  test("a pause holds for every level; resume runs them", async () => {
    const prefix = testPrefix();
    const s = site();
    const high = await trigger(prefix, s.url("/high"), "--priority", "high");
    const low = await trigger(prefix, s.url("/low"), "--priority", "low");
    const pause = await runCli("queue", ["pause", "default", "--prefix", prefix]);
    expect(pause.code).toBe(0);
    const w = backgroundWorker(prefix, "--concurrency", "2");
    await w.logged("queue paused: taking no new jobs");
    await w.logged("worker started");
    const waiting = await runCli("queue", [
      ...["jobs", "default", "--state", "waiting", "--json", "--prefix", prefix],
    ]);
    const ids = (JSON.parse(waiting.stdout) as { jobs: { id: string }[] }).jobs.map((j) => j.id);
    expect(ids.sort()).toEqual([high, low].sort());
    expect(s.order).toEqual([]);
    const resume = await runCli("queue", ["resume", "default", "--prefix", prefix]);
    expect(resume.code).toBe(0);
    await w.logged("finished", high);
    await w.logged("finished", low);
    expect([...s.order].sort()).toEqual(["/high", "/low"]);
    w.proc.kill("SIGTERM");
    expect((await w.ended()).code).toBe(0);
    s.stop();
  });

  test("a worker started before the queue had levels starts again to run its first high job", async () => {
    const prefix = testPrefix();
    const s = site();
    const first = await trigger(prefix, s.url("/normal"));
    const w = backgroundWorker(prefix, "--concurrency", "2");
    await w.logged("finished", first);
    // The worker serves the queue without levels; the first high job marks them, and the
    // worker's next heartbeat-time look stops it gracefully and starts it again.
    const high = await trigger(prefix, s.url("/high"), "--priority", "high");
    await w.logged("finished", high, 30_000);
    expect(
      w.events().some((e) => e.event === "starting again, to serve the queue's priority levels"),
    ).toBe(true);
    expect(s.order).toEqual(["/normal", "/high"]);
    w.proc.kill("SIGTERM");
    expect((await w.ended()).code).toBe(0);
    s.stop();
  }, 60_000);

  test("the restart for the levels lets a job running past --shutdown-grace-ms finish, not run again", async () => {
    const prefix = testPrefix();
    const s = site();
    const first = await trigger(prefix, s.url("/normal"));
    const w = backgroundWorker(prefix, "--concurrency", "2", "--shutdown-grace-ms", "100");
    await w.logged("finished", first);
    const long = await trigger(prefix, s.url("/slow/long"));
    await until(() => s.held.length === 1, "the long job running");
    const high = await trigger(prefix, s.url("/high"), "--priority", "high");
    await w.logged("stopping: waiting for jobs in flight", undefined, 30_000);
    // The wait is the job's time limit (180 s) and a second, not --shutdown-grace-ms: the job,
    // cut at 100 ms, was released and ran again from its start.
    const waiting = w.events().find((e) => e.event === "stopping: waiting for jobs in flight");
    expect(Number(waiting?.graceMs)).toBeGreaterThan(180_000);
    s.held.shift()?.();
    await w.logged("finished", long);
    await w.logged("finished", high, 30_000);
    expect(w.events().some((e) => e.event === "released unfinished jobs")).toBe(false);
    expect(s.order.filter((p) => p === "/slow/long")).toHaveLength(1);
    expect(await resultJson(prefix, long)).toMatchObject({ status: "finished", attempts: 1 });
    w.proc.kill("SIGTERM");
    expect((await w.ended()).code).toBe(0);
    s.stop();
  }, 60_000);

  // Refused before Redis is reached: nothing a cluster changes (not in the cluster pass).
  test.skipIf(!onOneServer)("a bad --priority: exit 2, one line", async () => {
    const r = await runCli("trigger", [
      ...["--prefix", testPrefix(), "--url", "http://127.0.0.1:9/", "--priority", "urgent"],
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")[0]).toBe(
      'trigger: --priority must be high, normal or low, got "urgent"',
    );
  });

  test("a queue without priorities keeps exactly today's keys", async () => {
    const prefix = testPrefix();
    const s = site();
    await triggerAll(prefix, "normal", [s.url("/a"), s.url("/b")]);
    await trigger(prefix, s.url("/c"), "--id", "plain-1");
    const res = await runCli("worker", workerArgs(prefix, "--concurrency", "1", "--burst"));
    expect(res.code).toBe(0);
    await using r = await rawRedis();
    const keys: string[] = [];
    for (const node of await mastersOf(r as unknown as Redis)) {
      keys.push(...((await node.sendCommand(["KEYS", `${prefix}:*`])) as string[]));
    }
    // Today's names (a worker's hash and receipts named by their own ids), none of a level.
    const names = [...new Set(keys.map((k) => k.replace(/^[^}]*\}:/, "")))].sort();
    expect(names.filter((n) => !/^(worker|receipt|r|job):/.test(n))).toEqual(
      [
        "events",
        "meta",
        "stats",
        "stats:durations",
        "stats:minutes",
        "stream",
        "tasks",
        "workers",
      ].filter((n) => names.includes(n)),
    );
    expect(names).toContain("stream");
    for (const name of names) expect(name).not.toMatch(/:high|:low|parked-/);
    for (const k of shardKeys(prefix, "default", testShards() ?? 1)) {
      expect(await r.sendCommand(["HGET", k.meta, "levels"])).toBeNull();
    }
    s.stop();
  });
});
