// One clock: workers whose own clocks are 120 s off (an injected `now`, as a host whose clock
// drifted) are judged, scheduled and recorded by Redis' clock. Times are checked against bounds
// read from Redis' TIME around each step, never against the worker's clock.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { RetryableError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import {
  oneShardFile,
  openQueue,
  rawRedis,
  redisTime,
  redisUrl,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

const SKEW_MS = 120_000;
const behind = () => Date.now() - SKEW_MS;
const ahead = () => Date.now() + SKEW_MS;
const ok = defineTask({ name: "ok", run: async () => "ok" });

describe("a worker whose clock is off", () => {
  test("120 s behind and 120 s ahead: both shown live by info, never pruned", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const slow = await startWorker({ prefix, tasks: [ok], name: "behind", now: behind });
    const fast = await startWorker({ prefix, tasks: [ok], name: "ahead", now: ahead });
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      const names = async () =>
        (await r.sendCommand(["ZRANGE", `${prefix}:{default}:workers`, "0", "-1"])) as string[];
      await until(async () => (await names()).length === 2, "both workers' first heartbeat");
      // What `info` does: read the workers and prune the gone ones.
      const shown = await admin.workers({ prune: true });
      expect(shown.map((w) => [w.name, w.state]).sort()).toEqual([
        ["ahead", "idle"],
        ["behind", "idle"],
      ]);
      for (const w of shown) expect(w.lastHeartbeatMs).toBeLessThan(SKEW_MS / 2);
      expect((await names()).sort()).toEqual(["ahead", "behind"]);
    } finally {
      await Promise.all([slow.stop(), fast.stop(), admin.close()]);
    }
  });

  test.each([
    ["behind", behind],
    ["ahead", ahead],
  ])("%s: a retry is due its delay after Redis' time, not the worker's", async (_, now) => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const later = defineTask({
      name: "later",
      run: async () => {
        throw new RetryableError("busy", { retryAfterMs: 60_000 });
      },
    });
    const w = await startWorker({ prefix, tasks: [later], now });
    const before = await redisTime(r);
    const id = await q.enqueue("later", null);
    const score = () => r.sendCommand(["ZSCORE", q.keys.delayed, id]);
    await until(async () => (await score()) !== null, "the job to enter the delayed set");
    const after = await redisTime(r);
    await w.stop();
    expect(Number(await score())).toBeGreaterThanOrEqual(before + 60_000);
    expect(Number(await score())).toBeLessThanOrEqual(after + 60_000);
  });

  test.each([
    ["behind", behind],
    ["ahead", ahead],
  ])("%s: the history's start and end lie within the run as Redis saw it", async (_, now) => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, now }); // the producer's clock is off as well
    await using r = await rawRedis();
    const w = await startWorker({ prefix, tasks: [ok], now });
    const before = await redisTime(r);
    const id = await q.enqueue("ok", null);
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    const after = await redisTime(r);
    await w.stop();
    const job = ended.get(id)!;
    expect(job.status).toBe("finished");
    const [run] = job.history;
    for (const t of [job.enqueuedAt, run?.startedAt, run?.endedAt, job.startedAt, job.endedAt]) {
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after);
    }
    expect(run!.endedAt).toBeGreaterThanOrEqual(run!.startedAt!);
  });
});

describe("a worker's own heartbeat interval", () => {
  test("20 s: not late 10 s after its last beat; late, not gone or pruned, 45 s after", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const w = await startWorker({ prefix, tasks: [ok], name: "w20", heartbeatEveryMs: 20_000 });
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      await until(async () => (await admin.workers()).length === 1, "its first heartbeat");
      // Its last beat moved back in time (Redis' clock), as if it had been silent that long.
      const silentFor = async (ms: number) => {
        const beat = String((await redisTime(r)) - ms);
        await r.sendCommand(["ZADD", q.keys.workers, beat, "w20"]);
      };
      await silentFor(10_500);
      expect((await admin.workers({ prune: true })).map((x) => x.state)).toEqual(["idle"]);
      await silentFor(45_000); // over two of its beats, under the six its record lives
      const [shown] = await admin.workers({ prune: true });
      expect(shown).toMatchObject({ name: "w20", state: "late", heartbeatEveryMs: 20_000 });
      expect(await r.sendCommand(["ZRANGE", q.keys.workers, "0", "-1"])).toEqual(["w20"]);
    } finally {
      await Promise.all([w.stop(), admin.close()]);
    }
  });
});

describe("a task's liveness, by its worker's own interval", () => {
  test("a worker with a 60 s heartbeat has its task 80 ms after its beat, for a reader that beats every 10 ms", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const x = defineTask({ name: "x", run: async () => "x" });
    const y = defineTask({ name: "y", run: async () => "y" });
    // The worker that has task x beats once (at start), then stops: it counts as live for six
    // of its own heartbeats (6 min), not six of the reader's (60 ms).
    const owner = await startWorker({ prefix, tasks: [x], heartbeatEveryMs: 60_000 });
    await until(async () => Number(await r.sendCommand(["HLEN", q.keys.tasks])) > 0, "its beat");
    const beatAt = await redisTime(r);
    await owner.stop();
    await until(async () => (await redisTime(r)) > beatAt + 80, "80 ms on Redis' clock");
    const reader = await startWorker({ prefix, tasks: [y], heartbeatEveryMs: 10 });
    try {
      const id = await q.enqueue("x", null);
      const fields = () => r.sendCommand(["HMGET", q.keys.record(id), "deferred", "waiting_for"]);
      await until(async () => (await fields()).some(Boolean), "the reader to leave the job");
      // Deferred (a live worker has x), not parked for a task no live worker has.
      const [deferred, waitingFor] = await fields();
      expect(waitingFor).toBeNull();
      expect(Number(deferred)).toBeGreaterThanOrEqual(1);
    } finally {
      await reader.stop();
    }
  });
});
