// `job.startedAt` (JobInfo, the task's third argument): when the worker started the run, on this
// host's wall clock to a fraction of a ms. Jobs.launch takes the moment it is given (a rate
// limit's check of the slot, lib/worker/limited.ts: tests/limits.gate and limits.worker), else
// its own; a worker and runTask both set it.
import { afterEach, expect, test } from "bun:test";
import { destroy } from "../lib/redis/close.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { runTask } from "../lib/testing.ts";
import { defineTask, type JobInfo } from "../lib/types.ts";
import { sortFresh } from "../lib/worker/entries.ts";
import { oneDelivered } from "./fixtures/one-delivered.ts";
import { openQueue, startWorker, testPrefix, until } from "./helpers.ts";

const clients: Redis[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) destroy(c);
});

/** What each run of task `seen` was told of its job. */
function seenTask(seen: JobInfo[]) {
  return defineTask({ name: "seen", run: async (_: unknown, _ctx, job) => void seen.push(job) });
}

test("Jobs.launch gives the task the start it is told (the moment a slot was checked)", async () => {
  const seen: JobInfo[] = [];
  const { client, keys, jobs } = await oneDelivered(seenTask(seen), clients);
  const entries = (await client.sendCommand(["XRANGE", keys.stream, "-", "+"])) as [
    string,
    string[],
  ][];
  const [job] = sortFresh(entries, new Set(["seen"])).run;
  // A check a quarter of a second before the launch: the task is told that moment.
  const checked = performance.now() - 250;
  jobs.launch(job!, "read", checked);
  await until(() => jobs.inFlight === 0, "the job's outcome written");
  jobs.close();
  expect(seen.map((j) => j.startedAt)).toEqual([performance.timeOrigin + checked]);
});

test("a worker's task and runTask's see when their run started", async () => {
  const prefix = testPrefix();
  const seen: JobInfo[] = [];
  const task = seenTask(seen);
  await using queue = await openQueue({ prefix });
  const before = performance.timeOrigin + performance.now();
  const { id } = (await queue.enqueueMany([{ task, payload: null }]))[0]!;
  const worker = await startWorker({ prefix, tasks: [task] });
  const done = await queue.waitForJobs([id], { timeoutMs: 10_000 });
  await worker.stop(1000);
  expect(done.pending).toEqual([]);
  await runTask(task, null);
  const after = performance.timeOrigin + performance.now();
  expect(seen).toHaveLength(2);
  for (const job of seen) {
    expect(job.startedAt).toBeGreaterThanOrEqual(before);
    expect(job.startedAt).toBeLessThanOrEqual(after);
  }
  expect(seen[1]!.startedAt).toBeGreaterThan(seen[0]!.startedAt!);
});
