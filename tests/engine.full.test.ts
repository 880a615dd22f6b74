// The engine's rare path on a full Redis (maxmemory reached, noeviction): failures, claims,
// deferrals and releases still go through, so a full queue drains. Each script writes first
// with a command that takes no memory (Redis checks maxmemory only before a script's first
// write). A throwaway redis-server, filled deterministically: data in, then maxmemory set
// under what is used.
import { afterEach, describe, expect, test } from "bun:test";
import { cancelJobs } from "../lib/engine/cancel.ts";
import { claimLapsed } from "../lib/engine/claim.ts";
import { failJobs } from "../lib/engine/fail.ts";
import { holdEntries } from "../lib/engine/hold.ts";
import { freeAndWake } from "../lib/engine/key-wake.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { leaveForOthers } from "../lib/engine/leave.ts";
import { reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { releaseAll } from "../lib/engine/release.ts";
import { requeueLetters } from "../lib/engine/requeue.ts";
import { deliver, type EngineQueue, engineQueue, pendingRow, plant } from "./fixtures/plant.ts";
import { type SmallRedis, startSmallRedis } from "./fixtures/redis-small.ts";

let small: SmallRedis | null = null;
afterEach(async () => {
  await small?.stop();
  small = null;
});

/** A full Redis holding `n` entries delivered to w1 (the payloads give them some weight). */
async function fullWith(n: number): Promise<{ v: EngineQueue; entries: string[] }> {
  small = await startSmallRedis(0);
  const v = await engineQueue(small.redis);
  const entries: string[] = [];
  for (let i = 0; i < n; i++) entries.push(await plant(v, { t: "t", p: `"${"x".repeat(500)}"` }));
  await deliver(v, "w1");
  await small.capBelowUsed();
  await expect(v.r.sendCommand(["SET", "probe", "x"])).rejects.toThrow(/^OOM /);
  return { v, entries };
}

const OPTS = { consumer: "w1", deadMaxLen: 1000, eventsMaxLen: 1000 };

describe("the rare path on a full Redis", () => {
  test("fail: retries and failures for good (letter only) are written", async () => {
    const { v, entries } = await fullWith(4);
    const items = entries.map((entry, i) => ({
      entry,
      id: null,
      hasRecord: false,
      runNo: 1,
      runMs: 1,
      error: "boom",
      retryInMs: i < 2 ? 1_000 : null,
    }));
    const codes = await failJobs(v.client, v.k, { ...OPTS, failureTtlS: 0 }, items);
    expect(codes).toEqual(["retrying", "retrying", "failed", "failed"]);
    expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(2);
    expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(2);
    expect(await v.r.sendCommand(["XPENDING", v.k.stream, "workers"])).toEqual([
      0,
      null,
      null,
      null,
    ]);
  });

  test("claim takes over lapsed entries", async () => {
    const { v, entries } = await fullWith(2);
    const o = { ...OPTS, minIdleMs: 0, count: 10, failureTtlS: 60 };
    const { claimed } = await claimLapsed(v.client, v.k, { ...o, consumer: "w2" });
    expect(claimed.map((c) => c.kind)).toEqual(["run", "run"]);
    expect(await pendingRow(v, entries[0]!)).toEqual({ owner: "w2", deliveries: 2 });
  });

  test("leave parks, and release re-adds", async () => {
    const { v, entries } = await fullWith(2);
    const left = [{ entry: entries[0]!, id: null, task: "t" }];
    expect(await leaveForOthers(v.client, v.k, "w1", [0], left)).toEqual(["parked"]);
    expect(await releaseAll(v.client, v.k, "w1")).toBe(1);
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(1);
  });

  test("requeue goes through when the record is there, and is refused whole when it would make one", async () => {
    small = await startSmallRedis(0);
    const v = await engineQueue(small.redis);
    const entries: string[] = [];
    for (let i = 0; i < 3; i++)
      entries.push(await plant(v, { i: `job-${i}`, p: `"${"x".repeat(500)}"` }));
    for (let i = 0; i < 3; i++) {
      await v.r.sendCommand(["HSET", `${v.k.recordPrefix}job-${i}`, "e", entries[i]!, "q", "1"]);
    }
    await deliver(v, "w1");
    const items = entries.map((entry, i) => ({
      entry,
      id: `job-${i}`,
      hasRecord: true,
      runNo: 1,
      runMs: 1,
      error: "boom",
      retryInMs: null,
    }));
    await failJobs(v.client, v.k, { ...OPTS, failureTtlS: 600 }, items);
    const letters = (await v.r.sendCommand(["XRANGE", v.k.dead, "-", "+"])) as [string, string[]][];
    await v.r.sendCommand(["DEL", `${v.k.recordPrefix}job-2`]); // expired: made again from its letter
    await small.capBelowUsed();
    const ref = (i: number) => ({ letter: letters[i]![0], id: `job-${i}` });
    expect(await requeueLetters(v.client, v.k, [ref(0)], 3)).toEqual([
      { id: "job-0", verdict: "requeued" },
    ]);
    await expect(requeueLetters(v.client, v.k, [ref(1), ref(2)], 3)).rejects.toThrow(/^OOM /);
    expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(2); // nothing written
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(1);
  });

  test("cancel: a running job is canceled as a waiting one (its first write takes no memory)", async () => {
    const { v, entries } = await fullWith(2);
    const o = { failureTtlS: 60, eventsMaxLen: 1000 };
    // Both delivered to w1 (running): the canceled outcome is the call's first write otherwise.
    const verdicts = await cancelJobs(v.client, v.k, o, [entries[1]!]);
    expect(verdicts).toEqual([{ id: entries[1]!, verdict: "canceled", from: "started" }]);
    expect(String(await v.r.sendCommand(["GET", `${v.k.resultPrefix}${entries[1]}`]))).toMatch(
      /^C/,
    );
  });

  test("a key's running slot is freed and its waiter woken into its stream (first writes take no memory)", async () => {
    small = await startSmallRedis(0);
    const v = await engineQueue(small.redis);
    const prefix = v.k.meta.slice(0, v.k.meta.indexOf(":{"));
    await writeLimits(v.client, prefix, "q", { keyConcurrency: 1 });
    const lk = limitKeys(prefix, "q");
    for (const id of ["A", "B"]) {
      await plant(v, { t: "t", p: `"${"x".repeat(500)}"`, i: id });
      await v.r.sendCommand(["HSET", v.k.record(id), "k", "h"]);
    }
    const [, entryB] = await deliver(v, "w1");
    const ask = (jobId: string) => ({ jobId, limitKey: "h", slotMs: 186_000 });
    const got = await reserveSlots(v.client, lk, { horizonMs: 1000, shard: 0 }, [
      ask("A"),
      ask("B"),
    ]);
    expect(got.map((g) => g.kind)).toEqual(["start", "hold"]);
    const dueMs = (got[1] as { dueMs: number }).dueMs;
    expect(await holdEntries(v.client, v.k, "w1", [{ entryId: entryB!, dueMs }])).toEqual(["held"]);
    await small.capBelowUsed();
    const woken = await freeAndWake(v.client, lk, () => v.k, {
      ended: [{ jobId: "A", limitKey: "h" }],
    });
    expect(woken.map((w) => w.jobId)).toEqual(["B"]);
    expect(await v.r.sendCommand(["ZCARD", lk.running("h")])).toBe(0);
    expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(0);
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(2); // A's entry, and B's again
  });
});
