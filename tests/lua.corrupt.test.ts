// The finish and fail scripts settle a job whose key is no longer a hash themselves (reply -2)
// and record the rest of the batch in the same call. The worker splits a batch Redis refuses
// (lib/worker/outcomes.ts #isolate), so only a call to the script itself shows that the script, not
// that last resort, kept the one bad record from failing its batch.
import { describe, expect, test } from "bun:test";
import { failJobs, finishJobs } from "../lib/engine/calls/outcomes.ts";
import { startEntries } from "../lib/engine/calls/start.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { openQueue, pendingCount, rawRedis, testPrefix } from "./helpers.ts";

/** Two jobs read and started by consumer w1; the second one's key then becomes a string. */
async function twoStartedOneSpoiled(prefix: string) {
  const q = await openQueue({ prefix });
  const k = q.keys;
  const ids = [await q.enqueue("t", 1), await q.enqueue("t", 2)];
  await q.client.sendCommand(["XGROUP", "CREATE", k.stream, GROUP, "0"]);
  const reply = (await q.client.sendCommand([
    ...["XREADGROUP", "GROUP", GROUP, "w1", "COUNT", "2", "STREAMS", k.stream, ">"],
  ])) as [string, [string, string[]][]][];
  const entries = reply[0]![1].map(([entry]) => entry);
  const starter = { consumer: "w1", failureTtlS: 60, boot: "boot1" };
  const limits = { deadMaxLen: 100, eventsMaxLen: 100, tasks: ["t"] };
  const deliveries = entries.map((entryId, i) => ({ entryId, jobId: ids[i]! }));
  const started = await startEntries(
    q.client,
    k,
    { ...starter, ...limits },
    {
      kind: "read",
      deliveries,
    },
  );
  expect(started.toRun.map((s) => s.runNo)).toEqual([1, 1]);
  await q.client.sendCommand(["DEL", k.job(ids[1]!)]);
  await q.client.sendCommand(["SET", k.job(ids[1]!), "garbage"]);
  return { q, k, ids, entries };
}

describe("a batch with one job key that is not a hash", () => {
  test("finish: the good job is recorded, the bad one answered -2, both acknowledged", async () => {
    const { q: queue, k, ids, entries } = await twoStartedOneSpoiled(testPrefix());
    await using q = queue;
    await using r = await rawRedis();
    const reply = await finishJobs(q.client, k, { resultTtlS: 60, eventsMaxLen: 100 }, [
      { entryId: entries[0]!, jobId: ids[0]!, runNo: 1, result: '"one"' },
      { entryId: entries[1]!, jobId: ids[1]!, runNo: 1, result: '"two"' },
    ]);
    expect(reply).toEqual([1, -2]);
    expect(await q.getJob(ids[0]!)).toMatchObject({ status: "finished", result: "one" });
    expect(await pendingCount(r, k)).toBe(0);
  });

  test("fail: the good job is dead-lettered, the bad one answered -2, both acknowledged", async () => {
    const { q: queue, k, ids, entries } = await twoStartedOneSpoiled(testPrefix());
    await using q = queue;
    await using r = await rawRedis();
    const o = { failureTtlS: 60, deadMaxLen: 100, eventsMaxLen: 100 };
    const reply = await failJobs(q.client, k, o, [
      { entryId: entries[0]!, jobId: ids[0]!, runNo: 1, error: "boom", retryInMs: -1 },
      { entryId: entries[1]!, jobId: ids[1]!, runNo: 1, error: "boom", retryInMs: -1 },
    ]);
    expect(reply).toEqual([2, -2]);
    expect(await q.getJob(ids[0]!)).toMatchObject({ status: "failed", error: "boom" });
    expect(await pendingCount(r, k)).toBe(0);
  });
});
