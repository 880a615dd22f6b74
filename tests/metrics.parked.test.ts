// Parked jobs (docs/internals.md, "3. Start": a job of a task no live worker has, set aside in
// `parked:<task>`, or `parked-<level>:<task>` at a high or low priority) are in no stream or
// delayed set: /metrics had no number for them (a dashboard could not see jobs piling up for a
// task no worker runs), and `info` and the overview counted only the normal level's.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { GROUP, LEVELS, levelKeys, type QueueKeys } from "../lib/engine/keys.ts";
import { leaveForOthers } from "../lib/engine/leave.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { openQueue, type RawRedis, rawRedis, redisUrl, runCli, testPrefix } from "./helpers.ts";

/** Reads every entry of `k`'s stream as one consumer and leaves them all: none has its task. */
async function parkAll(r: RawRedis, k: QueueKeys): Promise<number> {
  await r.sendCommand(["XGROUP", "CREATE", k.stream, GROUP, "0", "MKSTREAM"]).catch(() => {});
  const reply = await r.sendCommand([
    ...["XREADGROUP", "GROUP", GROUP, "w1", "COUNT", "100", "STREAMS", k.stream, ">"],
  ]);
  const entries = ((reply?.[0]?.[1] ?? []) as [string, string[]][]).map(([entry]) => entry);
  if (entries.length === 0) return 0;
  const left = entries.map((entry) => ({ entry, id: null, task: "x" }));
  const verdicts = await leaveForOthers(r as unknown as Redis, k, "w1", [0], left);
  expect(verdicts.every((v) => v === "parked")).toBe(true);
  return verdicts.length;
}

test("parked jobs of every level: courier_jobs_parked, the overview's and info's counts", async () => {
  const prefix = testPrefix();
  const queue = "pq";
  await using q = await openQueue({ prefix, queue });
  await q.enqueue("x", null);
  await q.enqueue("x", null);
  await q.enqueue("x", null, { id: "h1", priority: "high" });
  await q.enqueue("x", null, { id: "l1", priority: "low" });
  await q.enqueue("x", null, { id: "l2", priority: "low" });
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue });
  await using r = await rawRedis();
  try {
    let parked = 0;
    for (const keys of await admin.shards()) {
      for (const level of LEVELS) parked += await parkAll(r, levelKeys(keys, level));
    }
    expect(parked).toBe(5);
    const lines = (await admin.metrics()).split("\n");
    expect(lines).toContain("# TYPE courier_jobs_parked gauge");
    expect(lines).toContain(`courier_jobs_parked{queue="${queue}"} 5`);
    expect(lines).toContain(`courier_jobs_waiting{queue="${queue}"} 0`);
    const { counts } = await admin.overview();
    expect(counts.parked).toBe(5);
    expect(counts.unservedTasks).toEqual([{ task: "x", jobs: 5 }]);
    expect(counts.unservedTasksTotal).toBe(1);
    const info = await runCli("info", ["--prefix", prefix, "--queue", queue]);
    expect(info.stdout).toContain('  no live worker has task "x": 5 jobs wait for one\n');
  } finally {
    await admin.close();
  }
});

test("a queue with nothing parked: courier_jobs_parked 0", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "np" });
  await q.enqueue("x", null);
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "np" });
  try {
    expect((await admin.metrics()).split("\n")).toContain('courier_jobs_parked{queue="np"} 0');
  } finally {
    await admin.close();
  }
});

test.each(["1e400", "2.5", "-3"])(
  "a parked count written by hand (%p) is left out of courier_jobs_parked: never +Inf or a fraction",
  async (bad) => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue: "cp" });
    await q.enqueue("x", null);
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "cp" });
    await using r = await rawRedis();
    try {
      const [first] = await admin.shards();
      await r.sendCommand(["HSET", first!.tasks, "parked:y", bad, "parked:z", "2"]);
      expect((await admin.metrics()).split("\n")).toContain('courier_jobs_parked{queue="cp"} 2');
    } finally {
      await admin.close();
    }
  },
);
