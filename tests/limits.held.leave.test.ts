// When a key leaves the held keys (`limit:keys`: what info, /metrics and Admin.heldKeys show,
// and how a key rate change finds the jobs its rate holds): a key listed because its jobs waited
// for a running slot leaves it when its last waiter starts (limit.lua), not minutes later at its
// running slot's expiry; while its rate holds jobs back it stays. A key concurrency change's
// wake pages the list by place, so keys leaving it meanwhile make it skip none, and a key
// concurrency removed wakes every waiter of a key, not 100. Against the real Redis of
// tests/preload.ts.

import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { holdKey } from "../lib/engine/hold-key.ts";
import { wakeKeyWaiters } from "../lib/engine/key-wake.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { freeSlots, type LimitAsk, reserveSlots } from "../lib/engine/limit.ts";
import { type LimitsChange, writeLimits } from "../lib/engine/limits.ts";
import { scripts } from "../lib/engine/lua.ts";
import { takeRateHeld, wakeStart } from "../lib/engine/rate-held.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { type EngineQueue, engineQueue } from "./fixtures/plant.ts";
import { openQueue, rawRedis, redisTime, redisUrl, testPrefix } from "./helpers.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const o = { horizonMs: 1000, shard: 0 };
const ask = (jobId: string, limitKey = "h"): LimitAsk => ({ jobId, limitKey, slotMs: 186_000 });
const HOUR = 3_600_000;

async function limited(v: EngineQueue, change: LimitsChange) {
  await writeLimits(v.client, PREFIX_OF(v), "q", change);
  return limitKeys(PREFIX_OF(v), "q");
}

test("a key held only by its running slots leaves the held keys when its last waiter starts", async () => {
  await using v = await engineQueue();
  const lk = await limited(v, { keyConcurrency: 1 });
  const listed = async () => (await v.r.sendCommand(["ZSCORE", lk.keys, "h"])) !== null;
  const kinds = async (...ids: string[]) =>
    (
      await reserveSlots(
        v.client,
        lk,
        o,
        ids.map((id) => ask(id)),
      )
    ).map((g) => g.kind);
  expect(await kinds("A", "B", "C")).toEqual(["start", "hold", "hold"]);
  expect(await listed()).toBe(true);
  // A ends: B is woken and starts; C still waits, so h is still held back.
  expect(await freeSlots(v.client, lk, [{ jobId: "A", limitKey: "h" }])).toHaveLength(1);
  expect(await kinds("B")).toEqual(["start"]);
  expect(await listed()).toBe(true);
  expect(await freeSlots(v.client, lk, [{ jobId: "B", limitKey: "h" }])).toHaveLength(1);
  expect(await kinds("C")).toEqual(["start"]);
  // Its last waiter started: not listed till C's running slot expires (186 s on).
  expect(await listed()).toBe(false);
});

test("a waiter that starts after its key concurrency was removed leaves the waiting list and the key the held ones", async () => {
  await using v = await engineQueue();
  const lk = await limited(v, { keyConcurrency: 1 });
  const got = await reserveSlots(v.client, lk, o, [ask("A"), ask("B")]);
  expect(got.map((g) => g.kind)).toEqual(["start", "hold"]);
  // Removed (its wake not run: B comes back at its due time and asks).
  await writeLimits(v.client, PREFIX_OF(v), "q", { keyConcurrency: null });
  expect((await reserveSlots(v.client, lk, o, [ask("B")]))[0]?.kind).toBe("start");
  // Left there, it would be woken for a slot once a key concurrency is set again, and swallow
  // that wake (B runs: wake.lua cannot move it), leaving the next waiter to its fallback.
  expect(await v.r.sendCommand(["ZRANGE", lk.waiting("h"), "0", "-1"])).toEqual([]);
  expect(await v.r.sendCommand(["ZSCORE", lk.keys, "h"])).toBeNull();
});

test("a key whose rate still holds jobs stays listed when its last waiter starts", async () => {
  await using v = await engineQueue();
  const lk = await limited(v, { keyConcurrency: 1, keyRate: { count: 1, perMs: HOUR } });
  const kinds = async (...ids: string[]) =>
    (
      await reserveSlots(
        v.client,
        lk,
        o,
        ids.map((id) => ask(id)),
      )
    ).map((g) => g.kind);
  expect(await kinds("A")).toEqual(["start"]);
  await freeSlots(v.client, lk, [{ jobId: "A", limitKey: "h" }]);
  // D is held by the key's rate (its next slot an hour on), due then.
  expect(await v.r.sendCommand(["ZSCORE", lk.keys, "h"])).toBeNull();
  expect(await kinds("D")).toEqual(["hold"]);
  // A faster rate (written, its wake not run yet): F starts, B waits for F's running slot.
  await writeLimits(v.client, PREFIX_OF(v), "q", { keyRate: { count: 100, perMs: 1000 } });
  expect(await kinds("F", "B")).toEqual(["start", "hold"]);
  await freeSlots(v.client, lk, [{ jobId: "F", limitKey: "h" }]);
  expect(await kinds("B")).toEqual(["start"]);
  // B was its last waiter, but D is still held by the old rate: the key stays listed, so the
  // rate change's wake finds D through the list.
  expect(await v.r.sendCommand(["ZSCORE", lk.keys, "h"])).not.toBeNull();
  const page = await takeRateHeld(v.client, lk, wakeStart(), 200, 1000);
  expect(page.members).toEqual(["0|D"]);
});

test("a key whose jobs a stopped key rate wake left in its waking copy stays listed when its last waiter starts", async () => {
  await using v = await engineQueue();
  const lk = await limited(v, { keyConcurrency: 1 });
  // A wake that stopped between pages left D in h's waking copy, due an hour on, unnamed.
  const [s] = (await v.r.sendCommand(["TIME"])) as [string];
  await v.r.sendCommand(["ZADD", lk.rateWaking("h"), String(Number(s) * 1000 + HOUR), "0|D"]);
  const got = await reserveSlots(v.client, lk, o, [ask("A"), ask("B")]);
  expect(got.map((g) => g.kind)).toEqual(["start", "hold"]);
  await freeSlots(v.client, lk, [{ jobId: "A", limitKey: "h" }]);
  expect((await reserveSlots(v.client, lk, o, [ask("B")]))[0]?.kind).toBe("start");
  // Listed still: the next key rate change's wake visits h and names D.
  expect(await v.r.sendCommand(["ZSCORE", lk.keys, "h"])).not.toBeNull();
  const page = await takeRateHeld(v.client, lk, wakeStart(), 200, 1000);
  expect(page.members).toEqual(["0|D"]);
});

test("a key concurrency raised wakes every held key though keys leave the list during its pages", async () => {
  await using v = await engineQueue();
  const lk = await limited(v, { keyConcurrency: 1 });
  // 450 held keys (more than two pages of 200), each with one waiter and no run.
  const later = 9_000_000_000_000;
  const keys = Array.from({ length: 450 }, (_, i) => `k${i}`);
  for (const [i, k] of keys.entries()) {
    await v.r.sendCommand(["ZADD", lk.keys, String(later + i), k]);
    await v.r.sendCommand(["ZADD", lk.waiting(k), "1", `0|${k}-job`]);
  }
  // Each woken job starts right after its wake (its worker asks): its key leaves the list.
  const client = new Proxy(v.r, {
    get: (t, name) =>
      name !== "sendCommand"
        ? Reflect.get(t, name)
        : async (args: string[]) => {
            const got = await t.sendCommand(args);
            // limit-done.lua's call, by its hash (EVALSHA) or its text (EVAL after a NOSCRIPT).
            if (args[1] === scripts.limitDone.sha || args[1] === scripts.limitDone.source) {
              const pairs = (got as string[]).flatMap((m, i) =>
                i % 2 === 0 && !m.startsWith("!")
                  ? [ask(m.slice(2), (got as string[])[i + 1])]
                  : [],
              );
              await reserveSlots(v.client, lk, o, pairs);
            }
            return got;
          },
  }) as unknown as Redis;
  await wakeKeyWaiters(client, lk, [v.k]);
  const unstarted: string[] = [];
  for (const k of keys) {
    if (Number(await v.r.sendCommand(["ZCARD", lk.running(k)])) !== 1) unstarted.push(k);
  }
  expect(unstarted).toEqual([]);
  expect(await v.r.sendCommand(["ZCARD", lk.keys])).toBe(0);
});

test("a key concurrency removed wakes every waiter of a key, not only a call's 100", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q" });
  await q.enqueue("t", null);
  await using r = await rawRedis();
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
  try {
    await admin.setLimits({ keyConcurrency: 1 });
    const lk = limitKeys(prefix, "q");
    // 150 jobs of h wait for the slot of a run that takes minutes.
    const later = String((await redisTime(r)) + 600_000);
    await r.sendCommand(["ZADD", lk.running("h"), later, "0|1-0|1"]);
    await r.sendCommand(["ZADD", lk.keys, later, "h"]);
    const waiters = Array.from({ length: 150 }, (_, i) => [String(i + 1), `0|w${i}`]);
    await r.sendCommand(["ZADD", lk.waiting("h"), ...waiters.flat()]);
    await admin.setLimits({ keyConcurrency: null });
    const scores = (await r.sendCommand([
      "ZRANGE",
      lk.waiting("h"),
      "0",
      "-1",
      "WITHSCORES",
    ])) as string[];
    const unwoken = scores.filter((s, i) => i % 2 === 1 && Number(s) > 0);
    // Before, 50 were left to their fallback: the running slot's expiry.
    expect(unwoken).toEqual([]);
  } finally {
    await admin.close();
  }
});

test("a key whose last waiter was canceled leaves the held keys when its free drops it", async () => {
  await using v = await engineQueue();
  const lk = await limited(v, { keyConcurrency: 1 });
  const got = await reserveSlots(v.client, lk, o, [ask("A"), ask("B")]);
  expect(got.map((g) => g.kind)).toEqual(["start", "hold"]);
  // B canceled: A's end wakes it, its wake finds it ended, and the next free drops it (gone).
  const gone = [{ shard: 0, jobId: "B", limitKey: "h" }];
  expect(await freeSlots(v.client, lk, [{ jobId: "A", limitKey: "h" }], gone)).toEqual([]);
  expect(await v.r.sendCommand(["EXISTS", lk.waiting("h")])).toBe(0);
  // Nothing of h is held back: not listed (info showed it till B's fallback, 186 s on).
  expect(await v.r.sendCommand(["ZSCORE", lk.keys, "h"])).toBeNull();
});

test("a key whose last waiter was canceled stays listed while a hold or its rate holds it", async () => {
  await using v = await engineQueue();
  const lk = await limited(v, { keyConcurrency: 1 });
  const got = await reserveSlots(v.client, lk, o, [ask("A"), ask("B"), ask("C", "r")]);
  expect(got.map((g) => g.kind)).toEqual(["start", "hold", "start"]);
  await reserveSlots(v.client, lk, o, [ask("D", "r")]);
  // h is held by a task's hold; r's rate holds E (a rate-held member due an hour on).
  await holdKey(v.client, lk, "h", HOUR);
  const [s] = (await v.r.sendCommand(["TIME"])) as [string];
  await v.r.sendCommand(["ZADD", lk.rateHeld("r"), String(Number(s) * 1000 + HOUR), "0|E"]);
  const ended = [
    { jobId: "A", limitKey: "h" },
    { jobId: "C", limitKey: "r" },
  ];
  const gone = [
    { shard: 0, jobId: "B", limitKey: "h" },
    { shard: 0, jobId: "D", limitKey: "r" },
  ];
  expect(await freeSlots(v.client, lk, ended, gone)).toEqual([]);
  expect(await v.r.sendCommand(["ZSCORE", lk.keys, "h"])).not.toBeNull();
  expect(await v.r.sendCommand(["ZSCORE", lk.keys, "r"])).not.toBeNull();
});
