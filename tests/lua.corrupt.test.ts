// The finish and fail scripts set aside a job whose key holds the wrong type themselves (reply
// -2) and record the rest of the batch in the same call. The worker splits a batch Redis refuses
// (lib/worker/outcome-writes.ts isolate), so only a call to the script itself shows that the script,
// not that last resort, kept the one bad record from failing its batch. (A finish
// meets the job's outcome key `r:<id>`, a failure also its record `job:<id>`.)
import { describe, expect, test } from "bun:test";
import { failJobs } from "../lib/engine/fail.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { finishItems } from "./fixtures/finish.ts";
import { openQueue, pendingCount, pinShards, rawRedis, testPrefix } from "./helpers.ts";

// These tests read and plant one shard's own keys (q.keys): their queues have one shard, on a
// cluster one slot.
pinShards(1);

/** Two jobs read by consumer w1 (nothing is written at start); `spoil` then hits the second. */
async function twoRead(
  prefix: string,
  spoil: (
    k: { result: (id: string) => string; record: (id: string) => string },
    id: string,
  ) => string[][],
) {
  const q = await openQueue({ prefix });
  const k = q.keys;
  const ids = [await q.enqueue("t", 1), await q.enqueue("t", 2)];
  await q.client.sendCommand(["XGROUP", "CREATE", k.stream, GROUP, "0"]);
  const reply = (await q.client.sendCommand([
    ...["XREADGROUP", "GROUP", GROUP, "w1", "COUNT", "2", "STREAMS", k.stream, ">"],
  ])) as [string, [string, string[]][]][];
  const entries = reply[0]![1].map(([entry]) => entry);
  expect(entries).toEqual(ids); // auto ids: the job id is its first entry's id
  for (const cmd of spoil(k, ids[1]!)) await q.client.sendCommand(cmd);
  return { q, k, ids, entries };
}

const run = (entryId: string, result: string) => ({
  entryId,
  jobId: entryId,
  hasRecord: false,
  runMs: 1,
  attempt: 1,
  maxAttempts: 3,
  enqueuedAt: null,
  worker: "w1",
  task: "t",
  payload: "1",
  result,
});

describe("a batch with one job key of the wrong type", () => {
  test("finish: the good job is recorded, the bad one answered -2, both acknowledged", async () => {
    const {
      q: queue,
      k,
      ids,
      entries,
    } = await twoRead(testPrefix(), (k, id) => [["RPUSH", k.result(id), "garbage"]]);
    await using q = queue;
    await using r = await rawRedis();
    const w = { consumer: "w1", resultTtlS: 60, eventsMaxLen: 100 };
    const reply = await finishItems(q.client, k, w, [
      run(entries[0]!, '"one"'),
      run(entries[1]!, '"two"'),
    ]);
    expect(reply.codes).toEqual([1, -2]);
    expect(await q.getJob(ids[0]!)).toMatchObject({ status: "finished", result: "one" });
    expect(await pendingCount(r, k)).toBe(0);
  });

  test("fail: the good job is dead-lettered, the bad one answered -2, both acknowledged", async () => {
    const {
      q: queue,
      k,
      ids,
      entries,
    } = await twoRead(testPrefix(), (k, id) => [["SET", k.record(id), "garbage"]]);
    await using q = queue;
    await using r = await rawRedis();
    const o = { consumer: "w1", failureTtlS: 60, deadMaxLen: 100, eventsMaxLen: 100 };
    const fail = (entry: string) => ({
      entry,
      id: null,
      hasRecord: false,
      runNo: 1,
      runMs: 1,
      error: "boom",
      retryInMs: null,
    });
    const reply = await failJobs(q.client, k, o, [fail(entries[0]!), fail(entries[1]!)]);
    expect(reply).toEqual(["failed", "corrupt"]);
    expect(await q.getJob(ids[0]!)).toMatchObject({ status: "failed", error: "boom" });
    expect(await pendingCount(r, k)).toBe(0);
  });
});
