// A key concurrency raised far over a key's backlog of waiters: limit-done.lua wakes 100 of a
// key a call (never the backlog in one call), and the calls together wake one waiter per slot
// the raise freed, counting those woken and not started yet (an earlier call's) against the
// free slots, and no more, though some started between the calls. Against the real Redis of
// tests/preload.ts.

import { expect, test } from "bun:test";
import { wakeKeyWaiters } from "../lib/engine/key-wake.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { type LimitAsk, reserveSlots } from "../lib/engine/limit.ts";
import { type LimitsChange, writeLimits } from "../lib/engine/limits.ts";
import { scripts } from "../lib/engine/lua.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { type EngineQueue, engineQueue } from "./fixtures/plant.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const o = { horizonMs: 1000, shard: 0 };
const ask = (jobId: string, limitKey = "h"): LimitAsk => ({ jobId, limitKey, slotMs: 186_000 });

async function limited(v: EngineQueue, change: LimitsChange) {
  await writeLimits(v.client, PREFIX_OF(v), "q", change);
  return limitKeys(PREFIX_OF(v), "q");
}

/** `client`, recording how many waiters each limit-done.lua call woke. */
function countingWakes(client: Redis, calls: number[]): Redis {
  return new Proxy(client, {
    get: (t, name) =>
      name !== "sendCommand"
        ? Reflect.get(t, name)
        : async (args: string[]) => {
            const got = await t.sendCommand(args);
            if (args[1] === scripts.limitDone.sha || args[1] === scripts.limitDone.source) {
              calls.push(
                (got as string[]).filter((m, i) => i % 2 === 0 && !m.startsWith("!")).length,
              );
            }
            return got;
          },
  }) as unknown as Redis;
}

/** Key concurrency 1: A runs in h's slot, `n` jobs of h wait for it (listed, as limit.lua lists). */
async function aRunsAndWaiters(v: EngineQueue, n: number) {
  const lk = await limited(v, { keyConcurrency: 1 });
  expect((await reserveSlots(v.client, lk, o, [ask("A"), ask("B")])).map((g) => g.kind)).toEqual([
    "start",
    "hold",
  ]);
  const waiters = Array.from({ length: n - 1 }, (_, i) => [String(i + 10), `0|w${i}`]);
  await v.r.sendCommand(["ZADD", lk.waiting("h"), ...waiters.flat()]);
  return lk;
}

const wokenOf = async (v: EngineQueue, waiting: string) =>
  Number(await v.r.sendCommand(["ZCOUNT", waiting, "-inf", "(0"]));

test("a key concurrency raised far wakes a key's waiters 100 a call, not all in one", async () => {
  await using v = await engineQueue();
  const lk = await aRunsAndWaiters(v, 250);
  await writeLimits(v.client, PREFIX_OF(v), "q", { keyConcurrency: 1_000_000 });
  const calls: number[] = [];
  await wakeKeyWaiters(countingWakes(v.client, calls), lk, [v.k]);
  // Before, one call woke all 250 (100,000 waiters: 2.6 s of Redis in two scripts).
  expect(Math.max(...calls)).toBeLessThanOrEqual(100);
  expect(await wokenOf(v, lk.waiting("h"))).toBe(250);
});

test("a key concurrency raised wakes as many waiters as it frees slots, over its calls", async () => {
  await using v = await engineQueue();
  const lk = await aRunsAndWaiters(v, 250);
  await writeLimits(v.client, PREFIX_OF(v), "q", { keyConcurrency: 150 });
  await wakeKeyWaiters(v.client, lk, [v.k]);
  // A runs: 149 slots free, 149 woken (the first, in order), the others wait on.
  expect(await wokenOf(v, lk.waiting("h"))).toBe(149);
  const first = (await v.r.sendCommand(["ZRANGE", lk.waiting("h"), "0", "0"])) as string[];
  expect(first).toEqual(["0|w147"]);
});

test("a key concurrency raised fills its free slots though woken waiters start between its calls", async () => {
  await using v = await engineQueue();
  const lk = await aRunsAndWaiters(v, 400);
  await writeLimits(v.client, PREFIX_OF(v), "q", { keyConcurrency: 250 });
  // After each limit-done.lua call, 60 of the waiters it woke start (their workers ask).
  const client = new Proxy(v.r, {
    get: (t, name) =>
      name !== "sendCommand"
        ? Reflect.get(t, name)
        : async (args: string[]) => {
            const got = await t.sendCommand(args);
            if (args[1] === scripts.limitDone.sha || args[1] === scripts.limitDone.source) {
              const members = (got as string[]).filter((m, i) => i % 2 === 0 && !m.startsWith("!"));
              const starts = members.slice(0, 60).map((m) => ask(m.slice(2)));
              const kinds = (await reserveSlots(v.client, lk, o, starts)).map((g) => g.kind);
              expect(kinds.filter((k) => k !== "start")).toEqual([]);
            }
            return got;
          },
  }) as unknown as Redis;
  await wakeKeyWaiters(client, lk, [v.k]);
  // A runs: 249 slots free, each taken by a waiter started or woken. Before, those started
  // between calls were counted twice (running, and woken by an earlier call): 189, 60 idle.
  const running = Number(await v.r.sendCommand(["ZCARD", lk.running("h")]));
  expect(running - 1 + (await wokenOf(v, lk.waiting("h")))).toBe(249);
});
