// Scheduling in the library: `JobSpec.runAt` (a due time on Redis' clock, stored as the delayed
// set's score itself), read back as `scheduled` with its `runAt` until it is due; a due time
// already past runs at once. On every shard of the queue (6 in the cluster pass).
import { expect, test } from "bun:test";
import { promoteDue } from "../lib/engine/promote.ts";
import { InputError } from "../lib/errors.ts";
import { onNodeOf } from "../lib/redis/cluster.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, redisTime, testPrefix } from "./helpers.ts";

test("runAt: the due time is the delayed set's score, exactly; the job reads as scheduled", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const runAt = (await redisTime(r)) + 7_200_000;
  const id = await q.enqueue("t", { n: 1 }, { runAt: new Date(runAt) });
  const keys = keysOf(q, id);
  expect(Number(await r.sendCommand(["ZSCORE", keys.delayed, id]))).toBe(runAt);
  expect(await q.getJob(id)).toMatchObject({ id, status: "scheduled", runAt, payload: { n: 1 } });
  // Not due: a promotion by Redis' clock leaves it where it is.
  expect(await promoteDue(onNodeOf(q.client, keys.delayed), keys)).toBe(0);
  expect((await q.getJob(id))?.status).toBe("scheduled");
});

test("runAt in the past: promoted at once, then queued with no runAt", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  const id = await q.enqueue("t", null, { runAt: 1_000 });
  const keys = keysOf(q, id);
  // Due already by Redis' clock: queued (waiting for a promotion), not scheduled.
  expect(await q.getJob(id)).toMatchObject({ status: "queued", runAt: null });
  expect(await promoteDue(onNodeOf(q.client, keys.delayed), keys)).toBe(1);
  expect(await q.getJob(id)).toMatchObject({ status: "queued", runAt: null });
});

test("in a batch, a job with runAt leaves the ids of the jobs around it as they are", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  const later = Date.now() + 3_600_000;
  const jobs = await q.enqueueMany([
    { task: "t", payload: 1 },
    { task: "t", payload: 2, runAt: later },
    { task: "t", payload: 3, runAt: 1 },
    { task: "t", payload: 4 },
  ]);
  const read = await q.getJobs(jobs.map((j) => j.id));
  expect(read.map((j) => [j?.payload, j?.status])).toEqual([
    [1, "queued"],
    [2, "scheduled"],
    [3, "queued"],
    [4, "queued"],
  ]);
});

test.each([
  [{ runAt: 1_000, delayMs: 5 }, "give delayMs or runAt, not both"],
  [{ runAt: Number.NaN }, "runAt must be a time"],
  [{ runAt: new Date("nonsense") }, "runAt must be a time"],
  [{ runAt: -1 }, "runAt must be a time"],
  [{ runAt: Date.now() + 400 * 86_400_000 }, "at most one year ahead"],
])("refuses %p with an InputError", async (opts, message) => {
  await using q = await openQueue({ prefix: testPrefix() });
  const refused = await q.enqueue("t", null, opts).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(InputError);
  expect(String(refused)).toContain(message);
});
