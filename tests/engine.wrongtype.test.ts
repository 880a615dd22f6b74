// A queue-wide key of the wrong type (a hand edit, another program sharing the
// prefix) is refused by each script before its first write (include/wrongtype.lua), naming the
// key. Without the check the script fails at the first command that touches that key, after
// some of its writes: outcomes or letters kept while their entries stay pending, entries added
// with no receipt (a re-send duplicates them), a due job taken from the delayed set and never
// re-added. Each case sets one key to a string, whose use comes after other writes, and checks
// that nothing was written.
import { describe, expect, test } from "bun:test";
import { buryEntries } from "../lib/engine/bury.ts";
import { claimLapsed } from "../lib/engine/claim.ts";
import { enqueueJobs, prepareBatch } from "../lib/engine/enqueue.ts";
import { failJobs } from "../lib/engine/fail.ts";
import { leaveForOthers } from "../lib/engine/leave.ts";
import { promoteDue } from "../lib/engine/promote.ts";
import { requeueLetters } from "../lib/engine/requeue.ts";
import { finishItems } from "./fixtures/finish.ts";
import { deliver, type EngineQueue, engineQueue, pendingRow, plant } from "./fixtures/plant.ts";

const HOLDS_STRING = /courier: key \S+ holds a string/;

async function exists(v: EngineQueue, key: string): Promise<number> {
  return Number(await v.r.sendCommand(["EXISTS", key]));
}

describe("the scripts refuse a queue-wide key of the wrong type before any write", () => {
  test("finish (events a string): no outcome written, the entry still pending", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w1");
    await v.r.sendCommand(["SET", v.k.events, "oops"]);
    const run = { entryId: entry, jobId: entry, hasRecord: false, runMs: 1, attempt: 1 };
    const item = { ...run, maxAttempts: 3, enqueuedAt: null, worker: "w1", task: "echo" };
    const w = { consumer: "w1", resultTtlS: 600, eventsMaxLen: 100 };
    const call = finishItems(v.client, v.k, w, [{ ...item, payload: "1", result: "1" }]);
    await expect(call).rejects.toThrow(HOLDS_STRING);
    expect(await exists(v, v.k.resultPrefix + entry)).toBe(0);
    expect(await pendingRow(v, entry)).toEqual({ owner: "w1", deliveries: 1 });
  });

  // The finish checks its keys in as few calls as it can (TYPE, or the command that needs the
  // key anyway, under pcall): each of them, with and without the take, is refused by name.
  const FINISH_KEYS = ["stream", "events", "stats", "minutes", "durations", "dead"] as const;
  for (const name of FINISH_KEYS) {
    for (const take of [0, 1]) {
      test(`finish, take ${take} (${name} a string): refused by name, nothing written`, async () => {
        await using v = await engineQueue();
        const entry = await plant(v);
        const queued = await plant(v);
        await deliver(v, "w1", 1);
        const key = v.k[name];
        await v.r.sendCommand(["DEL", key]);
        await v.r.sendCommand(["SET", key, "oops"]);
        const run = { entryId: entry, jobId: entry, hasRecord: false, runMs: 1, attempt: 1 };
        const item = { ...run, maxAttempts: 3, enqueuedAt: null, worker: "w1", task: "echo" };
        const w = { consumer: "w1", resultTtlS: 600, eventsMaxLen: 100 };
        const call = finishItems(v.client, v.k, w, [{ ...item, payload: "1", result: "1" }], take);
        await expect(call).rejects.toThrow(`ERR courier: key ${key} holds a string`);
        expect(await exists(v, v.k.resultPrefix + entry)).toBe(0);
        if (name === "stream") return; // the entries went with it
        expect(await pendingRow(v, entry)).toEqual({ owner: "w1", deliveries: 1 });
        expect(await pendingRow(v, queued)).toBeNull(); // not taken
      });
    }
  }

  test("enqueue (stats a string): no entry added, no receipt", async () => {
    await using v = await engineQueue();
    await v.r.sendCommand(["SET", v.k.stats, "oops"]);
    const batch = prepareBatch([{ task: "t", payload: "1", maxAttempts: 3 }]);
    await expect(enqueueJobs(v.client, v.k, batch)).rejects.toThrow(HOLDS_STRING);
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(0);
    expect(await exists(v, v.k.receipt(batch.batchId))).toBe(0);
  });

  test("enqueue (its receipt key a hash): refused with Courier's line, no entry added", async () => {
    await using v = await engineQueue();
    const batch = prepareBatch([{ task: "t", payload: "1", maxAttempts: 3 }]);
    await v.r.sendCommand(["HSET", v.k.receipt(batch.batchId), "x", "y"]);
    await expect(enqueueJobs(v.client, v.k, batch)).rejects.toThrow(
      /^ERR courier: key .* holds a hash/,
    );
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(0);
  });

  test("promote (the stream a string): the due job stays in the delayed set", async () => {
    await using v = await engineQueue();
    await v.r.sendCommand(["HSET", `${v.k.recordPrefix}later`, "t", "t", "p", "1", "a", "0"]);
    await v.r.sendCommand(["HSET", `${v.k.recordPrefix}later`, "m", "3", "status", "queued"]);
    await v.r.sendCommand(["ZADD", v.k.delayed, "0", "later"]);
    await v.r.sendCommand(["DEL", v.k.stream]);
    await v.r.sendCommand(["SET", v.k.stream, "oops"]);
    await expect(promoteDue(v.client, v.k)).rejects.toThrow(HOLDS_STRING);
    expect(await v.r.sendCommand(["ZRANGE", v.k.delayed, "0", "-1"])).toEqual(["later"]);
  });

  test("claim (stats a string): the lapsed entry stays with its owner, its count not bumped", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w1");
    await v.r.sendCommand(["SET", v.k.stats, "oops"]);
    const o = { minIdleMs: 0, count: 10, failureTtlS: 600, deadMaxLen: 100, eventsMaxLen: 100 };
    await expect(claimLapsed(v.client, v.k, { ...o, consumer: "w2" })).rejects.toThrow(
      HOLDS_STRING,
    );
    expect(await pendingRow(v, entry)).toEqual({ owner: "w1", deliveries: 1 });
    expect(await exists(v, v.k.recordPrefix + entry)).toBe(0);
  });

  test("bury (stats a string): no letter, no failed value, the entry still pending", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w1");
    await v.r.sendCommand(["SET", v.k.stats, "oops"]);
    const o = { consumer: "w1", failureTtlS: 600, deadMaxLen: 100, eventsMaxLen: 100 };
    const burial = { entryId: entry, id: entry, problem: "no payload" };
    await expect(buryEntries(v.client, v.k, o, [burial])).rejects.toThrow(HOLDS_STRING);
    expect(await exists(v, v.k.dead)).toBe(0);
    expect(await exists(v, v.k.resultPrefix + entry)).toBe(0);
    expect(await pendingRow(v, entry)).toEqual({ owner: "w1", deliveries: 1 });
  });

  test("leave (the tasks hash a string): no record made, the entry still pending", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { t: "png" });
    await deliver(v, "w1");
    await v.r.sendCommand(["SET", v.k.tasks, "oops"]);
    const left = [{ entry, id: null, task: "png" }];
    await expect(leaveForOthers(v.client, v.k, "w1", [0], left)).rejects.toThrow(HOLDS_STRING);
    expect(await exists(v, v.k.recordPrefix + entry)).toBe(0);
    expect(await pendingRow(v, entry)).toEqual({ owner: "w1", deliveries: 1 });
  });

  test("requeue (stats a string): the letter stays, no entry added", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w1");
    const o = { consumer: "w1", failureTtlS: 600, deadMaxLen: 100, eventsMaxLen: 100 };
    const failed = { entry, id: null, hasRecord: false, runNo: 1, runMs: 1, error: "boom" };
    await failJobs(v.client, v.k, o, [{ ...failed, retryInMs: null }]);
    const letters = (await v.r.sendCommand(["XRANGE", v.k.dead, "-", "+"])) as [string][];
    const letter = letters[0]![0];
    await v.r.sendCommand(["SET", v.k.stats, "oops"]);
    const call = requeueLetters(v.client, v.k, [{ letter, id: entry }], 3);
    await expect(call).rejects.toThrow(HOLDS_STRING);
    expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(1);
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(0);
  });
});
