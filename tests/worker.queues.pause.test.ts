// A pause of one queue of a worker that serves several (lib/worker/pause.ts, one watch per
// queue; lib/worker/slots.ts `paused`): the paused queue takes nothing, and wants nothing, so
// the worker's later queues take the slots it would have had in strict order. Resumed, it comes
// first again. On one Redis and, in the cluster pass, on queues of six shards each.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { defineTask } from "../lib/types.ts";
import { logRecorder, openQueue, redisUrl, startWorker, testPrefix, until } from "./helpers.ts";

test("a paused first queue leaves its slots to the next; resumed, it comes first again", async () => {
  const prefix = testPrefix();
  const started: string[] = [];
  const task = defineTask({
    name: "tagged",
    run: async (payload: { tag: string }) => {
      started.push(payload.tag);
    },
  });
  await using high = await openQueue({ prefix, queue: "high" });
  await using low = await openQueue({ prefix, queue: "low" });
  const fill = async (q: typeof high, tag: string, n: number) => {
    const made = await q.enqueueMany(
      Array.from({ length: n }, () => ({ task: "tagged", payload: { tag } })),
    );
    return made.map((j) => {
      if (!j) throw new Error("a job was not enqueued");
      return j.id;
    });
  };
  await fill(high, "high", 1); // both queues exist before the pause
  await fill(low, "low", 1);
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "high" });
  const log = logRecorder();
  const w = await startWorker({
    prefix,
    queue: "high,low",
    concurrency: 1,
    pauseCheckMs: 20,
    tasks: [task],
    logger: log,
  });
  try {
    await until(() => started.length === 2, "the first two jobs");
    expect(started).toEqual(["high", "low"]);
    expect(await admin.pause()).toBe(true);
    await until(() => log.events().includes("queue paused: taking no new jobs"), "the pause seen");
    const highIds = await fill(high, "high", 3);
    const lowIds = await fill(low, "low", 3);
    // Every low job runs while high is paused, though high has jobs waiting and comes first.
    const lows = await low.waitForJobs(lowIds, { timeoutMs: 10_000 });
    expect([...lows.ended.values()].map((j) => j?.status)).toEqual(Array(3).fill("finished"));
    expect(started).toEqual(["high", "low", "low", "low", "low"]);

    expect(await admin.resume()).toBe(true);
    const highs = await high.waitForJobs(highIds, { timeoutMs: 10_000 });
    expect([...highs.ended.values()].map((j) => j?.status)).toEqual(Array(3).fill("finished"));
    expect(started.slice(5)).toEqual(["high", "high", "high"]);
  } finally {
    await admin.close();
    await w.stop();
  }
});
