// Reading jobs back through the library (Queue.getJob/getJobs, waitForJobs):
// a job is where it is (its entry, the pending list, its record, its outcome), and each place
// reads as the status `result` shows. Data is planted through the engine's own functions.
import { describe, expect, test } from "bun:test";
import { claimLapsed } from "../lib/engine/claim.ts";
import { entryOfAutoId, GROUP } from "../lib/engine/keys.ts";
import { runJob } from "./fixtures/engine.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

describe("getJob reads where a job is", () => {
  test("queued in the stream, started from the pending list (worker, attempt); gone: unknown", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const id = await q.enqueue("t", { n: 1 });
    expect(await q.getJob(id)).toMatchObject({ status: "queued", attempts: 0, worker: null });
    const { stream } = keysOf(q, id);
    await r.sendCommand(["XGROUP", "CREATE", stream, GROUP, "0"]);
    const read = ["XREADGROUP", "GROUP", GROUP, "w1", "COUNT", "1", "STREAMS", stream, ">"];
    await r.sendCommand(read);
    expect(await q.getJob(id)).toMatchObject({
      status: "started",
      attempts: 1,
      worker: "w1",
      payload: { n: 1 },
    });
    await r.sendCommand(["XACK", stream, GROUP, entryOfAutoId(id)]);
    await r.sendCommand(["XDEL", stream, entryOfAutoId(id)]);
    expect(await q.getJob(id)).toBeNull(); // gone without an outcome: unknown
  });

  test("retrying from its record; then finished, with both runs in its history", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const id = await q.enqueue("t", "p", { id: "order-7" });
    await runJob(q.client, keysOf(q, id), [{ worker: "w1", error: "boom", retry: true }]);
    expect(await q.getJob(id)).toMatchObject({ status: "retrying", attempts: 1, error: "boom" });
    await runJob(q.client, keysOf(q, id), [
      { worker: "w0", error: "never", retry: true },
      { worker: "w2", result: '"ok"' },
    ]);
    const job = await q.getJob(id);
    expect(job).toMatchObject({ status: "finished", attempts: 3, result: "ok", worker: "w2" });
    expect(job!.history.map((h) => [h.attempt, h.worker, h.outcome])).toEqual([
      [1, "w1", "retrying"],
      [2, "w0", "retrying"],
      [3, "w2", "finished"],
    ]);
  });

  test("a run whose worker died reads as abandoned in the history", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const id = await q.enqueue("t", null);
    const k = keysOf(q, id);
    await r.sendCommand(["XGROUP", "CREATE", k.stream, GROUP, "0"]);
    await r.sendCommand(["XREADGROUP", "GROUP", GROUP, "dead", "STREAMS", k.stream, ">"]);
    const o = { consumer: "w2", minIdleMs: 0, count: 10 };
    await claimLapsed(q.client, k, {
      ...o,
      failureTtlS: 60,
      deadMaxLen: 10,
      eventsMaxLen: 10,
    });
    const job = await q.getJob(id);
    expect(job).toMatchObject({ status: "started", attempts: 2, worker: "w2" });
    expect(job!.history.map((h) => [h.attempt, h.worker, h.outcome])).toEqual([
      [1, "dead", "abandoned"],
    ]);
  });
});

describe("waitForJobs", () => {
  test("wakes on the finish and reads the outcome; an id never enqueued ends as unknown", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const id = await q.enqueue("t", 2);
    const waited = q.waitForJobs([id, "never-enqueued"], { timeoutMs: 10_000 });
    await runJob(q.client, keysOf(q, id), [{ worker: "w1", result: "4" }]);
    const { ended, pending } = await waited;
    expect(pending).toEqual([]);
    expect(ended.get(id)).toMatchObject({ status: "finished", result: 4, payload: 2 });
    expect(ended.get("never-enqueued")).toBeNull();
  });
});
