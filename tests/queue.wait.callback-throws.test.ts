// A wait's callbacks (`onProgress`, `onJobProgress`) are the caller's code: what they throw
// ends the wait, rejected with that value, and is not taken for a failed read. Before, the
// wait read again and again until its time was up (for ever with no limit), each throw told
// to `onError` as if Redis had failed, and the caller got a normal answer at the end.
import { expect, test } from "bun:test";
import { asClient, runJob } from "./fixtures/engine.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

const bug = new Error("a bug in the caller's callback");
const thrower = () => {
  throw bug;
};

test("onProgress that throws rejects the wait with what it threw, at once", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const id = await q.enqueue("t", 1);
  await runJob(asClient(r), keysOf(q, id), [{ worker: "w1", result: "4" }]);
  const told: unknown[] = [];
  const waited = q.waitForJobs([id], {
    timeoutMs: 3_000, // before: answered after it, the jobs as they stood
    onProgress: thrower,
    onError: (err) => told.push(err),
  });
  expect(await waited.catch((err: unknown) => err)).toBe(bug);
  expect(told).toEqual([]);
});

test("onJobProgress that throws rejects the wait too", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const id = await q.enqueue("t", 1);
  // A progress event of the job, as a worker's ctx.progress writes it: read by the wait.
  const progress = ["type", "progress", "id", id, "value", JSON.stringify({ step: 1 })];
  await r.sendCommand(["XADD", keysOf(q, id).events, "*", ...progress]);
  const told: unknown[] = [];
  const waited = q.waitForJobs([id], {
    timeoutMs: 3_000, // before: answered after it, the jobs as they stood
    onJobProgress: thrower,
    onError: (err) => told.push(err),
  });
  expect(await waited.catch((err: unknown) => err)).toBe(bug);
  expect(told).toEqual([]);
});
