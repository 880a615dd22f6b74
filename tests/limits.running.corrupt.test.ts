// A running slot no worker could have taken (`limit:running:<key>` member whose expiry is past
// any time limit: `inf`, `1e300`; a hand edit, or a slot an earlier Courier took for a task of
// no time limit, which never expired): read as it was, it held one of the key's slots for ever,
// so under a key concurrency of 1 every job of the key waited for good (`H inf busy`) and no
// free woke a waiter. limit.lua and limit-done.lua drop it as they drop an expired one. Against
// the real Redis of tests/preload.ts.
import { expect, test } from "bun:test";
import { INTERVAL_LIMIT_MS } from "../lib/config.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { freeSlots, type LimitAsk, reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { type EngineQueue, engineQueue } from "./fixtures/plant.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const ask = (jobId: string): LimitAsk => ({ jobId, limitKey: "h", slotMs: 60_000 });
const o = { horizonMs: 1000, shard: 0 };
const BAD = ["inf", "1e300", "1e15"];

test.each(BAD)(
  "a running member expiring at %p holds no slot: the key's job starts",
  async (bad) => {
    await using v = await engineQueue();
    await writeLimits(v.client, PREFIX_OF(v), "q", { keyConcurrency: 1 });
    const lk = limitKeys(PREFIX_OF(v), "q");
    await v.r.sendCommand(["ZADD", lk.running("h"), bad, "0|stuck|1"]);
    const got = await reserveSlots(v.client, lk, o, [ask("A"), ask("B")]);
    expect(got.map((g) => g.kind)).toEqual(["start", "hold"]);
    // B is due when A's slot frees itself, a finite time on.
    expect(Number.isFinite((got[1] as { dueMs: number }).dueMs)).toBe(true);
  },
);

test.each(BAD)(
  "a running member expiring at %p takes no freed slot: the waiter is woken",
  async (bad) => {
    await using v = await engineQueue();
    await writeLimits(v.client, PREFIX_OF(v), "q", { keyConcurrency: 1 });
    const lk = limitKeys(PREFIX_OF(v), "q");
    const got = await reserveSlots(v.client, lk, o, [ask("A"), ask("B")]);
    expect(got.map((g) => g.kind)).toEqual(["start", "hold"]);
    await v.r.sendCommand(["ZADD", lk.running("h"), bad, "0|stuck|1"]);
    const woken = await freeSlots(v.client, lk, [{ jobId: "A", limitKey: "h" }]);
    expect(woken.map((w) => w.jobId)).toEqual(["B"]);
  },
);

test("the bound is past any slot a worker takes (runningSlotMs), by two days", async () => {
  for (const name of ["limit", "limit-done"]) {
    const lua = await Bun.file(new URL(`../lib/engine/lua/${name}.lua`, import.meta.url)).text();
    expect(lua).toContain("local RUNNING_MOST_MS = 1000000000 + 2 * 86400000\n");
  }
  expect(1_000_000_000).toBe(INTERVAL_LIMIT_MS);
});
