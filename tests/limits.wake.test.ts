// Wakes of jobs waiting for a running slot of their key (docs/internals.md, "Rate limits"):
// a waiter that ended (canceled, finished) while it waited never swallows a wake: wake.lua
// names it, and the worker drops it and wakes the next (limit-done.lua, QueueLimits). Against
// the real Redis of tests/preload.ts.
import { expect, test } from "bun:test";
import { cancelJobs } from "../lib/engine/cancel.ts";
import { holdEntries, wakeJobs } from "../lib/engine/hold.ts";
import { wakeKeyWaiters } from "../lib/engine/key-wake.ts";
import { limitKeys, limitWokenPrefix } from "../lib/engine/keys.ts";
import { freeSlots, type LimitVerdict, reserveSlots } from "../lib/engine/limit.ts";
import { type Limits, writeLimits } from "../lib/engine/limits.ts";
import { silentLogger } from "../lib/log.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { QueueLimits } from "../lib/worker/queue-limits.ts";
import { deliver, type EngineQueue, engineQueue, streamEntries } from "./fixtures/plant.ts";
import { until } from "./helpers.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const ask = (jobId: string) => ({ jobId, limitKey: "h", slotMs: 186_000 });
const o = { horizonMs: 1000, shard: 0 };
const limits: Limits = { rate: null, keyConcurrency: 1, keyRate: null };

/** A, B and C of key h read by w1 under C = 1: A starts, B and C wait (held, busy); B canceled. */
async function bCanceled(v: EngineQueue) {
  await writeLimits(v.client, PREFIX_OF(v), "q", limits);
  const lk = limitKeys(PREFIX_OF(v), "q");
  for (const id of ["A", "B", "C"]) {
    const f = ["t", "echo", "p", "1", "a", "0", "m", "3", "i", id, "k", "h"];
    await v.r.sendCommand(["XADD", v.k.stream, "*", ...f]);
  }
  const [, eb, ec] = await deliver(v, "w1");
  const got = await reserveSlots(v.client, lk, o, ["A", "B", "C"].map(ask));
  expect(got.map((g) => g.kind)).toEqual(["start", "hold", "hold"]);
  const due = (g: LimitVerdict | undefined) => (g as { dueMs: number }).dueMs;
  const held = [
    { entryId: eb!, dueMs: due(got[1]) },
    { entryId: ec!, dueMs: due(got[2]) },
  ];
  expect(await holdEntries(v.client, v.k, "w1", held)).toEqual(["held", "held"]);
  const canceled = await cancelJobs(v.client, v.k, { failureTtlS: 3600, eventsMaxLen: 1000 }, [
    "B",
  ]);
  expect(canceled[0]?.verdict).toBe("canceled");
  return lk;
}

const inStream = async (v: EngineQueue) => (await streamEntries(v)).map((e) => e.f.i);

test("wake.lua names a woken job that ended; limit-done.lua drops it and wakes the next", async () => {
  await using v = await engineQueue();
  const lk = await bCanceled(v);
  const woken = await freeSlots(v.client, lk, [{ jobId: "A", limitKey: "h" }]);
  expect(woken).toEqual([{ shard: 0, jobId: "B", limitKey: "h" }]);
  expect(await wakeJobs(v.client, v.k, ["B"])).toEqual({ moved: 0, ended: ["B"] });
  // No marker for an ended job (it would only sit there).
  expect(await v.r.sendCommand(["EXISTS", `${limitWokenPrefix(v.k)}B`])).toBe(0);
  expect(await freeSlots(v.client, lk, [], woken)).toEqual([
    { shard: 0, jobId: "C", limitKey: "h" },
  ]);
  // B is out of the list for good (not left there, woken, until the list expires).
  expect(await v.r.sendCommand(["ZRANGE", lk.waiting("h"), "0", "-1"])).toEqual(["0|C"]);
  expect(await wakeJobs(v.client, v.k, ["C"])).toEqual({ moved: 1, ended: [] });
  expect(await inStream(v)).toContain("C");
});

test("a worker's freed slot reaches the next waiter past a canceled one (not its fallback)", async () => {
  await using v = await engineQueue();
  const lk = await bCanceled(v);
  const watch = { limits, holdsUntil: 0 };
  const q = new QueueLimits(
    lk,
    watch,
    () => v.k,
    () => v.client,
    silentLogger,
  );
  q.ended({ jobId: "A", limitKey: "h" });
  await until(async () => (await inStream(v)).includes("C"), "C woken");
  expect(await v.r.sendCommand(["ZRANGE", v.k.delayed, "0", "-1"])).toEqual([]);
});

test("a key concurrency raised wakes every held key's waiters though listings drop between pages", async () => {
  await using v = await engineQueue();
  await writeLimits(v.client, PREFIX_OF(v), "q", limits);
  const lk = limitKeys(PREFIX_OF(v), "q");
  // 250 keys held till far off (more than a page of 200), each with one waiter and no run;
  // 50 listings whose time passed, which the next limit.lua call drops (any worker's ask).
  const later = 9_000_000_000_000;
  const keys = Array.from({ length: 250 }, (_, i) => `k${i}`);
  for (const [i, k] of keys.entries()) {
    await v.r.sendCommand(["ZADD", lk.keys, String(later + i), k]);
    await v.r.sendCommand(["ZADD", lk.waiting(k), "1", `0|${k}-job`]);
  }
  for (let i = 0; i < 50; i++) await v.r.sendCommand(["ZADD", lk.keys, "1", `past${i}`]);
  // A worker's limit.lua call lands right after each page of held keys is read.
  const client = new Proxy(v.r, {
    get: (t, name) =>
      name !== "sendCommand"
        ? Reflect.get(t, name)
        : async (args: string[]) => {
            const got = await t.sendCommand(args);
            if (/^Z(REV)?RANGE$/.test(args[0] ?? "") && args[1] === lk.keys) {
              await reserveSlots(v.client, lk, o, []);
            }
            return got;
          },
  }) as unknown as Redis;
  await wakeKeyWaiters(client, lk, [v.k]);
  const unwoken: string[] = [];
  for (const k of keys) {
    const score = Number(await v.r.sendCommand(["ZSCORE", lk.waiting(k), `0|${k}-job`]));
    if (score >= 0) unwoken.push(k); // woken: scored negative (limit-done.lua)
  }
  expect(unwoken).toEqual([]);
});
