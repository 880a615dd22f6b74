// `info`'s numbers against real Redis: waiting, in flight, delayed, dead, the oldest waiting
// job's age, recent counts, workers (gone ones pruned), and the command itself.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { GROUP, queueKeys } from "../lib/engine/keys.ts";
import { defineTask } from "../lib/types.ts";
import {
  onOneServer,
  openQueue,
  pinShards,
  rawRedis,
  readUntil,
  redisTime,
  redisUrl,
  runCli,
  spawnCli,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

// These tests read and plant one shard's own keys (q.keys): their queues have one shard, on a
// cluster one slot.
pinShards(1);

describe("queue numbers", () => {
  test("waiting, in flight, delayed, dead and the oldest waiting job's age", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      expect((await admin.overview()).counts).toMatchObject({
        waiting: 0,
        inFlight: 0,
        delayed: 0,
        dead: 0,
        oldestWaitingMs: null,
      });
      const before = await redisTime(r);
      await q.enqueueMany(Array.from({ length: 5 }, () => ({ task: "t" })));
      await q.enqueue("t", null, { delayMs: 60_000 });
      await r.sendCommand(["XGROUP", "CREATE", q.keys.stream, GROUP, "0", "MKSTREAM"]);
      // A consumer that reads two jobs and never acknowledges them: they are in flight.
      await r.sendCommand([
        "XREADGROUP",
        "GROUP",
        GROUP,
        "fake",
        "COUNT",
        "2",
        "STREAMS",
        q.keys.stream,
        ">",
      ]);
      await r.sendCommand([
        "XADD",
        q.keys.dead,
        "*",
        "id",
        "x",
        "task",
        "t",
        "error",
        "e",
        "attempts",
        "1",
      ]);
      const { counts } = await admin.overview();
      expect(counts).toMatchObject({
        queue: "default",
        waiting: 3,
        inFlight: 2,
        delayed: 1,
        dead: 1,
      });
      // The oldest waiting job is the third enqueued: added at `before` or a little after, by
      // Redis' clock, which its age is measured on too.
      expect(counts.oldestWaitingMs).toBeGreaterThanOrEqual(0);
      expect(counts.oldestWaitingMs).toBeLessThanOrEqual((await redisTime(r)) - before);
      expect(counts.totals.enqueued).toBe(6);
    } finally {
      await admin.close();
    }
  });

  test("finished and failed in the last minute and hour, and throughput", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      // The minutes are Redis' (the scripts count by TIME, `info` reads by it): written for
      // the minute Redis is in; tried again in the rare case that minute ends meanwhile.
      let minute = 0;
      let read: Awaited<ReturnType<Admin["overview"]>> | undefined;
      for (let tries = 0; tries < 3 && !read; tries++) {
        minute = Math.floor((await redisTime(r)) / 60_000);
        await r.sendCommand(["DEL", admin.keys.minutes]);
        await r.sendCommand([
          "HSET",
          admin.keys.minutes,
          `${minute}:finished`,
          "40",
          `${minute - 1}:finished`,
          "40",
          `${minute - 30}:finished`,
          "100",
          `${minute}:failed`,
          "2",
          `${minute - 90}:failed`,
          "7",
        ]);
        const got = await admin.overview();
        if (Math.floor((await redisTime(r)) / 60_000) === minute) read = got;
      }
      const { counts, series } = read!;
      // The last minute: this one's 40 and the part of the one before that the window still
      // covers (all of it at the minute's start, none at its end).
      expect(counts.finished.lastMinute).toBeGreaterThanOrEqual(40);
      expect(counts.finished.lastMinute).toBeLessThanOrEqual(80);
      expect(counts.finished.lastHour).toBe(180);
      expect(counts.failed).toEqual({ lastMinute: 2, lastHour: 2 });
      const perS = (counts.finished.lastMinute + 2) / 60;
      expect(counts.throughputPerS).toBe(Math.round(perS * 100) / 100);
      expect(series).toHaveLength(60);
      expect(series.at(-1)).toEqual({ at: minute * 60_000, finished: 40, failed: 2, retried: 0 });
    } finally {
      await admin.close();
    }
  });
});

describe("workers", () => {
  test("a live worker with its host, pid, concurrency and counts", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const ok = defineTask({ name: "ok", run: async () => 1 });
    const w = await startWorker({
      prefix,
      tasks: [ok],
      concurrency: 3,
      name: "w-info",
      heartbeatEveryMs: 20,
    });
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      const id = await q.enqueue("ok", null);
      await q.waitForJobs([id], { timeoutMs: 5_000 });
      // The heartbeat after the job is the event: it reports the job processed.
      await until(
        async () => (await admin.workers())[0]?.processed === 1,
        "a heartbeat after the job",
      );
      const [worker] = await admin.workers();
      expect(worker).toMatchObject({
        name: "w-info",
        pid: process.pid,
        concurrency: 3,
        inFlight: 0,
        processed: 1,
        state: "idle",
      });
      expect(worker!.host).toBeString();
      expect(worker!.lastHeartbeatMs).toBeLessThan(5_000);
    } finally {
      await w.stop();
      await admin.close();
    }
  });

  test("a worker silent too long is shown as gone once, then pruned (its consumer too, if idle)", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      const now = await redisTime(r);
      const old = String(now - 60_000);
      const recent = String(now - 12_000);
      await r.sendCommand(["ZADD", q.keys.workers, old, "crashed", old, "holder", recent, "slow"]);
      // A worker is gone when its hash has expired: "crashed" and "holder" have none.
      await r.sendCommand(["HSET", q.keys.worker("slow"), "host", "h", "in_flight", "1"]);
      await q.enqueue("t", null);
      await r.sendCommand(["XGROUP", "CREATE", q.keys.stream, GROUP, "0"]);
      await r.sendCommand(["XGROUP", "CREATECONSUMER", q.keys.stream, GROUP, "crashed"]);
      // "holder" died holding a job: its consumer must stay, or the job would be lost.
      await r.sendCommand([
        "XREADGROUP",
        "GROUP",
        GROUP,
        "holder",
        "COUNT",
        "1",
        "STREAMS",
        q.keys.stream,
        ">",
      ]);
      const shown = await admin.workers({ prune: true });
      expect(shown.map((w) => [w.name, w.state])).toEqual([
        ["slow", "late"],
        ["crashed", "gone"],
        ["holder", "gone"],
      ]);
      expect((await admin.workers()).map((w) => w.name)).toEqual(["slow"]);
      const consumers: string[][] = await r.sendCommand([
        "XINFO",
        "CONSUMERS",
        q.keys.stream,
        GROUP,
      ]);
      expect(consumers.map((c) => c[1])).toEqual(["holder"]);
    } finally {
      await admin.close();
    }
  });
});

describe("bin/info.ts", () => {
  test("--json: one object with every queue under the prefix and its workers", async () => {
    const prefix = testPrefix();
    await using a = await openQueue({ prefix, queue: "alpha" });
    await using b = await openQueue({ prefix, queue: "beta" });
    await a.enqueueMany([{ task: "t" }, { task: "t" }]);
    await b.enqueue("t", null);
    const { code, stdout, stderr } = await runCli("info", ["--prefix", prefix, "--json"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout.trim().split("\n")).toHaveLength(1);
    const report = JSON.parse(stdout);
    // Only queues that exist: no `default` with zeros on a prefix that never had it.
    expect(report.queues.map((q: { queue: string }) => q.queue)).toEqual(["alpha", "beta"]);
    expect(report.queues[0]).toMatchObject({
      queue: "alpha",
      waiting: 2,
      inFlight: 0,
      delayed: 0,
      dead: 0,
      finished: { lastMinute: 0, lastHour: 0 },
      failed: { lastMinute: 0, lastHour: 0 },
      throughputPerS: 0,
      workers: [],
    });
    const one = await runCli("info", ["--prefix", prefix, "--queue", "beta", "--json"]);
    expect(JSON.parse(one.stdout).queues.map((q: { waiting: number }) => q.waiting)).toEqual([1]);
  });

  test("no queue under the prefix: one line, exit 0; bare info and --queue agree", async () => {
    const prefix = testPrefix();
    const text = await runCli("info", ["--prefix", prefix]);
    expect(text).toMatchObject({ code: 0, stderr: "" });
    expect(text.stdout).toMatch(new RegExp(`\\n\\nno queue under prefix ${prefix}\\n$`));
    expect(text.stdout).not.toContain("queue default");
    const json = await runCli("info", ["--prefix", prefix, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      redis: { usedBytes: expect.any(Number) },
      queues: [],
    });
    const named = await runCli("info", ["--prefix", prefix, "--queue", "default"]);
    expect(named).toMatchObject({
      code: 4,
      stderr: `info: no queue default under prefix ${prefix}\n`,
    });
    // A queue whose only job is delayed has no stream yet: both still find it.
    await using q = await openQueue({ prefix, queue: "later" });
    await q.enqueue("t", null, { delayMs: 60_000 });
    const found = JSON.parse((await runCli("info", ["--prefix", prefix, "--json"])).stdout);
    expect(found.queues).toEqual([expect.objectContaining({ queue: "later", delayed: 1 })]);
    expect((await runCli("info", ["--prefix", prefix, "--queue", "later"])).code).toBe(0);
  });

  // Answered before Redis is reached: nothing a cluster changes (not in the cluster pass).
  test.skipIf(!onOneServer)("--help says that without --queue every queue is shown", async () => {
    const help = await runCli("info", ["--help"]);
    expect(help.stdout).toMatch(
      /--queue=<queue> +Only this queue \(env COURIER_QUEUE; default: every queue under the prefix\)/,
    );
  });

  test("text: a block per queue; --watch refreshes until SIGINT", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await q.enqueue("t", null);
    const text = await runCli("info", ["--prefix", prefix]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^queue default\n {2}waiting 1 {3}in flight 0 {3}delayed 0 {3}dead 0 {3}oldest waiting \d+s$/m,
    );
    expect(text.stdout).toContain("workers: none");
    const watch = spawnCli("info", ["--prefix", prefix, "--watch", "--json", "--interval", "1"]);
    const reader = watch.stdout.getReader();
    const out = await readUntil(reader, (text) => text.split("\n").length >= 3);
    reader.releaseLock();
    watch.kill("SIGINT");
    expect(await watch.exited).toBe(0);
    const [first, second] = out.split("\n").map((l) => (l ? JSON.parse(l) : null));
    expect(first.queues[0].waiting).toBe(1);
    expect(Date.parse(second.time) - Date.parse(first.time)).toBeGreaterThanOrEqual(900);
    const bad = await runCli("info", ["--prefix", prefix, "--interval", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith("info: --interval must be a whole number");
  });
});

describe("info --queue NAME", () => {
  test("a queue that does not exist: one line, exit 4; one that exists but is empty: its zeros", async () => {
    const prefix = testPrefix();
    for (const args of [
      ["--queue", "nope"],
      ["--queue", "nope", "--json"],
      ["--watch", "--queue", "nope"],
    ]) {
      const r = await runCli("info", ["--prefix", prefix, ...args]);
      expect(r.code).toBe(4);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(`info: no queue nope under prefix ${prefix}\n`);
    }
    const env = { COURIER_QUEUE: "nope" };
    expect((await runCli("info", ["--prefix", prefix], { env })).code).toBe(4);
    // A worker has joined it, nothing was enqueued yet: its stream is there, empty.
    await using r = await rawRedis();
    const { stream } = queueKeys(prefix, "empty");
    await r.sendCommand(["XGROUP", "CREATE", stream, GROUP, "0", "MKSTREAM"]);
    const empty = await runCli("info", ["--prefix", prefix, "--queue", "empty", "--json"]);
    expect(empty.code).toBe(0);
    expect(JSON.parse(empty.stdout).queues).toMatchObject([{ queue: "empty", waiting: 0 }]);
    // A queue whose only job is delayed has no stream yet: it exists all the same.
    await using later = await openQueue({ prefix, queue: "later" });
    await later.enqueue("t", null, { delayMs: 60_000 });
    const delayed = await runCli("info", ["--prefix", prefix, "--queue", "later", "--json"]);
    expect(delayed.code).toBe(0);
    expect(JSON.parse(delayed.stdout).queues).toMatchObject([{ queue: "later", delayed: 1 }]);
  });
});
