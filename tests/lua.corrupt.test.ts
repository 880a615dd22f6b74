// The finish and fail scripts settle a job whose key is no longer a hash themselves (reply -2)
// and record the rest of the batch in the same call. The worker splits a batch Redis refuses
// (lib/worker/outcomes.ts #isolate), so only a call to the script itself shows that the script, not
// that last resort, kept the one bad record from failing its batch.
import { describe, expect, test } from "bun:test";
import { GROUP } from "../lib/engine/keys.ts";
import { runScript, scripts } from "../lib/engine/lua.ts";
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
  const started = await runScript<unknown[]>(
    q.client,
    scripts.start,
    [k.stream, k.dead, k.events, k.stats, k.minutes, k.tasks, k.delayed],
    [
      ...[k.jobPrefix, GROUP, "w1", 60, 100, 100, k.parkedPrefix, "boot1"],
      ...[1, "t", "read", entries[0]!, ids[0]!, entries[1]!, ids[1]!],
    ],
  );
  // Flat, per entry: entry, job id, run, attempt, max attempts, task, payload.
  expect([started[2], started[9]]).toEqual([1, 1]);
  await q.client.sendCommand(["DEL", k.job(ids[1]!)]);
  await q.client.sendCommand(["SET", k.job(ids[1]!), "garbage"]);
  return { q, k, ids, entries };
}

describe("a batch with one job key that is not a hash", () => {
  test("finish: the good job is recorded, the bad one answered -2, both acknowledged", async () => {
    const { q: queue, k, ids, entries } = await twoStartedOneSpoiled(testPrefix());
    await using q = queue;
    await using r = await rawRedis();
    const reply = await runScript<number[]>(
      q.client,
      scripts.finish,
      [k.stream, k.events, k.stats, k.minutes, k.durations],
      [
        ...[k.jobPrefix, GROUP, 60, 100, 180],
        ...[entries[0]!, ids[0]!, 1, '"one"', entries[1]!, ids[1]!, 1, '"two"'],
      ],
    );
    expect(reply).toEqual([1, -2]);
    expect(await q.getJob(ids[0]!)).toMatchObject({ status: "finished", result: "one" });
    expect(await pendingCount(r, k)).toBe(0);
  });

  test("fail: the good job is dead-lettered, the bad one answered -2, both acknowledged", async () => {
    const { q: queue, k, ids, entries } = await twoStartedOneSpoiled(testPrefix());
    await using q = queue;
    await using r = await rawRedis();
    const reply = await runScript<number[]>(
      q.client,
      scripts.fail,
      [k.stream, k.delayed, k.dead, k.events, k.stats, k.minutes],
      [
        ...[k.jobPrefix, GROUP, 60, 100, 100, 180],
        ...[entries[0]!, ids[0]!, 1, "boom", -1, entries[1]!, ids[1]!, 1, "boom", -1],
      ],
    );
    expect(reply).toEqual([2, -2]);
    expect(await q.getJob(ids[0]!)).toMatchObject({ status: "failed", error: "boom" });
    expect(await pendingCount(r, k)).toBe(0);
  });
});
