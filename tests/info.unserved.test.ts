// The tasks no live worker has, with their parked jobs (lib/admin/workers.ts): the first
// UNSERVED_TASKS_SHOWN by name and how many in all, read a page at a time (HSCAN), never the
// whole tasks hash: 100,000 task names made every dashboard snapshot 11 MB, and `info` 14 MB.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { sumCounts } from "../lib/admin/shards.ts";
import { readUnservedTasks, UNSERVED_TASKS_SHOWN } from "../lib/admin/unserved.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { quietCounts } from "./fixtures/counts.ts";
import {
  openQueue,
  pinShards,
  rawRedis,
  redisTime,
  redisUrl,
  runCli,
  testPrefix,
} from "./helpers.ts";

// The tasks hash planted is one shard's.
pinShards(1);

const MORE = 25;
const PARKED = UNSERVED_TASKS_SHOWN + MORE;
const name = (i: number) => `task-${String(i).padStart(4, "0")}`;

/** A queue whose tasks hash has `parked` unserved tasks (task-0000 … ), a live one and an empty one. */
async function parkedQueue(parked = PARKED): Promise<{ prefix: string; queue: string }> {
  const prefix = testPrefix();
  const queue = "tk";
  await using q = await openQueue({ prefix, queue });
  await q.enqueue("t", null);
  await using r = await rawRedis();
  const fields = Array.from({ length: parked }, (_, i) => [`parked:${name(i)}`, String(i + 1)]);
  await r.sendCommand(["HSET", q.keys.tasks, ...fields.flat()]);
  // Parked, but a live worker has it (until far ahead): served. And one with no job parked.
  const until = String(Date.now() + 3_600_000);
  await r.sendCommand([
    "HSET",
    q.keys.tasks,
    "parked:aaa-live",
    "3",
    "alive_until:aaa-live",
    until,
  ]);
  await r.sendCommand(["HSET", q.keys.tasks, "parked:aaa-none", "0"]);
  return { prefix, queue };
}

const FIRST = Array.from({ length: UNSERVED_TASKS_SHOWN }, (_, i) => ({
  task: name(i),
  jobs: i + 1,
}));

describe("unserved tasks, capped", () => {
  test("the overview has the first UNSERVED_TASKS_SHOWN by name, and the total", async () => {
    const { prefix, queue } = await parkedQueue();
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue });
    try {
      const { counts } = await admin.overview();
      expect(counts.unservedTasks).toEqual(FIRST);
      expect(counts.unservedTasksTotal).toBe(PARKED);
    } finally {
      await admin.close();
    }
  });

  test("a tasks hash of many pages: read to its end, the first by name kept", async () => {
    const { prefix, queue } = await parkedQueue(2_500);
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue });
    try {
      const { counts } = await admin.overview();
      expect(counts.unservedTasks).toEqual(FIRST);
      expect(counts.unservedTasksTotal).toBe(2_500);
    } finally {
      await admin.close();
    }
  });

  test("one tasks hash read: only its first UNSERVED_TASKS_SHOWN kept, the others counted", async () => {
    // Past a listpack's 128 fields: HSCAN then answers in no order.
    const { prefix, queue } = await parkedQueue(2_500);
    await using r = await rawRedis();
    const read = await readUnservedTasks(
      r as unknown as Redis,
      queueKeys(prefix, queue),
      await redisTime(r),
    );
    expect(read.shown).toEqual(FIRST);
    expect(read.total).toBe(2_500);
  });

  test("info: the first ones' lines, then how many more; --json the same", async () => {
    const { prefix, queue } = await parkedQueue();
    const text = await runCli("info", ["--prefix", prefix, "--queue", queue]);
    expect(text.code).toBe(0);
    const lines = text.stdout.split("\n").filter((l) => l.includes("no live worker has task"));
    expect(lines).toHaveLength(UNSERVED_TASKS_SHOWN);
    expect(lines[0]).toBe(`  no live worker has task "${name(0)}": 1 job waits for one`);
    expect(text.stdout).toContain(
      `  and ${MORE} more tasks no live worker has (the first ${UNSERVED_TASKS_SHOWN} by name shown)\n`,
    );
    const json = await runCli("info", ["--prefix", prefix, "--queue", queue, "--json"]);
    const [report] = JSON.parse(json.stdout).queues;
    expect(report.unservedTasks).toEqual(FIRST);
    expect(report.unservedTasksTotal).toBe(PARKED);
  });

  test("a queue's shards merged: the first by name of them all, jobs summed, a task counted once", () => {
    const part = (tasks: [string, number][], total: number) => ({
      ...quietCounts("q"),
      unservedTasks: tasks.map(([task, jobs]) => ({ task, jobs })),
      unservedTasksTotal: total,
    });
    const all = (from: number) =>
      Array.from({ length: UNSERVED_TASKS_SHOWN }, (_, i): [string, number] => [name(from + i), 1]);
    // Shard 0: task-0000…0019 of 30; shard 1: task-0010…0029, all of its 20.
    const sum = sumCounts("q", [part(all(0), 30), part(all(10), 20)]);
    expect(sum.unservedTasks).toHaveLength(UNSERVED_TASKS_SHOWN);
    expect(sum.unservedTasks[0]).toEqual({ task: name(0), jobs: 1 });
    expect(sum.unservedTasks[19]).toEqual({ task: name(19), jobs: 2 });
    // 30 + 20, less the 10 names both shards showed: 40 (task-0000…0029 and 10 more on shard 0).
    expect(sum.unservedTasksTotal).toBe(40);
    const complete = sumCounts("q", [
      part([["a", 1]], 1),
      part(
        [
          ["a", 2],
          ["b", 1],
        ],
        2,
      ),
    ]);
    expect(complete.unservedTasks).toEqual([
      { task: "a", jobs: 3 },
      { task: "b", jobs: 1 },
    ]);
    expect(complete.unservedTasksTotal).toBe(2);
  });
});

test("a task name of 1 MB (written by hand) is cut in info's line, not printed whole", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "tk" });
  await q.enqueue("t", null);
  await using r = await rawRedis();
  await r.sendCommand(["HSET", q.keys.tasks, `parked:${"A".repeat(1_000_000)}`, "1"]);
  const out = await runCli("info", ["--prefix", prefix, "--queue", "tk"]);
  expect(out.code).toBe(0);
  expect(out.stdout.length).toBeLessThan(5_000);
  expect(out.stdout).toContain(
    `no live worker has task "${"A".repeat(200)}…": 1 job waits for one`,
  );
});

test.each(["1e400", "2.5", "0x10"])(
  "a parked count written by hand (%p) is no count: the task left out, never Infinity jobs",
  async (bad) => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue: "tk" });
    await q.enqueue("t", null);
    await using r = await rawRedis();
    await r.sendCommand(["HSET", q.keys.tasks, "parked:bad", bad, "parked:ok", "2"]);
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "tk" });
    try {
      const { counts } = await admin.overview();
      expect(counts.unservedTasks).toEqual([{ task: "ok", jobs: 2 }]);
      expect([counts.unservedTasksTotal, counts.parked]).toEqual([1, 2]);
    } finally {
      await admin.close();
    }
  },
);
