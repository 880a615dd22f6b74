// finish.lua's entry check (issue 12, research §5 test 11): after a failover a promoted master
// may issue again an entry id that only the dead master had, to another job. A worker that
// finishes the lost job with (entry, its job id) must not acknowledge or delete the entry now
// carrying someone else: for a given job id the entry's `i` must name that job.
import { describe, expect, test } from "bun:test";
import { asClient, enqueue, freshQueue, pendingCount, take } from "./fixtures/engine.ts";
import { type FinishItem, finishItems } from "./fixtures/finish.ts";
import { rawRedis } from "./helpers.ts";

const W = { consumer: "w1", resultTtlS: 600, eventsMaxLen: 1000 };

function run(entryId: string, jobId: string): FinishItem {
  return {
    entryId,
    jobId,
    hasRecord: true,
    runMs: 3,
    attempt: 1,
    maxAttempts: 1,
    enqueuedAt: null,
    worker: W.consumer,
    task: "t",
    payload: "1",
    result: "true",
  };
}

describe("finish of a job whose entry id now carries another job", () => {
  for (const [what, next] of [
    ["a caller-id job", { id: "new-job" }],
    ["an auto-id job", {}],
  ] as const) {
    test(`leaves the entry of ${what} in the stream, pending`, async () => {
      await using r = await rawRedis();
      const keys = await freshQueue(r);
      await enqueue(r, keys, [{ ...next, task: "t", payload: "2", maxAttempts: 1 }]);
      const [taken] = await take(r, keys, "w2", 1);
      const entry = taken![0];
      const client = asClient(r);

      // The lost job "old-job" had the same entry id on the dead master.
      const done = await finishItems(client, keys, W, [run(entry, "old-job")]);
      expect(done.codes).toEqual([1]); // it did run: its result is recorded
      expect(await r.sendCommand(["EXISTS", `${keys.resultPrefix}old-job`])).toBe(1);
      expect(await r.sendCommand(["XLEN", keys.stream])).toBe(1);
      expect(await pendingCount(r, keys)).toBe(1);

      // The entry's own job still finishes and leaves the stream.
      const own = "id" in next ? next.id : entry;
      await finishItems(client, keys, { ...W, consumer: "w2" }, [
        { ...run(entry, own), worker: "w2" },
      ]);
      expect(await r.sendCommand(["XLEN", keys.stream])).toBe(0);
      expect(await pendingCount(r, keys)).toBe(0);
    });
  }
});
