// A limiter's stored time that no rate or hold could have written (a hand edit: `inf`, `nan`,
// `1e300`): the queue's next slot `limit:rate`, a key's next slot `tat`, a key's `held_until`.
// Read as it was, `limit:rate` at `inf` kept every job of the queue from starting again (each
// told to come back later, for ever, nothing said); a key's, every job of that key. Now each is
// read as none (as text that is no number was), and the rate goes on from now. Against the
// real Redis of tests/preload.ts.
import { expect, test } from "bun:test";
import { HOLD_MAX_MS } from "../lib/engine/hold-key.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { type LimitAsk, reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { RATE_PER_MAX_MS } from "../lib/engine/rates.ts";
import { type EngineQueue, engineQueue } from "./fixtures/plant.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const ask = (jobId: string, limitKey?: string): LimitAsk => ({
  jobId,
  slotMs: 60_000,
  ...(limitKey && { limitKey }),
});
const o = { horizonMs: 1000, shard: 0 };
const BAD = ["inf", "-inf", "nan", "1e300", "-1e300"];

test.each(BAD)("limit:rate %p: the queue's jobs start at its rate again", async (bad) => {
  await using v = await engineQueue();
  const prefix = PREFIX_OF(v);
  await writeLimits(v.client, prefix, "q", { rate: { count: 10, perMs: 1000 } });
  const lk = limitKeys(prefix, "q");
  expect((await reserveSlots(v.client, lk, o, [ask("a")]))[0]!.kind).toBe("start");
  await v.r.sendCommand(["SET", lk.rate, bad]);
  const got = await reserveSlots(v.client, lk, o, [ask("b"), ask("c")]);
  expect(got.map((g) => g.kind)).toEqual(["start", "start"]);
  // Spaced as the rate says: the second a spacing (100 ms and its lateness) after the first.
  const [b, c] = got as { kind: "start"; inMs: number }[];
  expect(c!.inMs - b!.inMs).toBeGreaterThanOrEqual(100);
  expect(Number(await v.r.sendCommand(["GET", lk.rate]))).toBeLessThan(Date.now() + 10_000);
});

test.each(BAD)("a key's tat %p under a key rate: its jobs start again", async (bad) => {
  await using v = await engineQueue();
  const prefix = PREFIX_OF(v);
  await writeLimits(v.client, prefix, "q", { keyRate: { count: 10, perMs: 1000 } });
  const lk = limitKeys(prefix, "q");
  expect((await reserveSlots(v.client, lk, o, [ask("a", "h")]))[0]!.kind).toBe("start");
  await v.r.sendCommand(["HSET", lk.key("h"), "tat", bad]);
  expect((await reserveSlots(v.client, lk, o, [ask("b", "h")]))[0]!.kind).toBe("start");
});

test.each(["inf", "nan", "1e300"])(
  "a key's held_until %p: no hold, its jobs start",
  async (bad) => {
    await using v = await engineQueue();
    const prefix = PREFIX_OF(v);
    await writeLimits(v.client, prefix, "q", { keyConcurrency: 5 });
    const lk = limitKeys(prefix, "q");
    await v.r.sendCommand(["HSET", lk.key("h"), "held_until", bad]);
    expect((await reserveSlots(v.client, lk, o, [ask("b", "h")]))[0]!.kind).toBe("start");
  },
);

test.each(["inf", "1e300", "nan", "9007199254740993"])(
  "a key's hold_next %p under a key rate: its job is held a spacing on, the call's others decided",
  async (bad) => {
    await using v = await engineQueue();
    const prefix = PREFIX_OF(v);
    await writeLimits(v.client, prefix, "q", { keyRate: { count: 1, perMs: 3_600_000 } });
    const lk = limitKeys(prefix, "q");
    expect((await reserveSlots(v.client, lk, o, [ask("a", "h")]))[0]!.kind).toBe("start");
    await v.r.sendCommand(["HSET", lk.key("h"), "hold_next", bad]);
    // Read as it was, `inf` raised after the call's first writes (PEXPIRE of inf): every call
    // with a job of h failed, the others' jobs with it, for ever.
    const got = await reserveSlots(v.client, lk, o, [ask("x", "other"), ask("b", "h")]);
    expect(got.map((g) => g.kind)).toEqual(["start", "hold"]);
    const [s] = (await v.r.sendCommand(["TIME"])) as [string];
    const due = (got[1] as { dueMs: number }).dueMs;
    expect(due).toBeLessThanOrEqual(Number(s) * 1000 + 2 * 3_600_000);
  },
);

test.each(["inf", "1e300"])(
  "a held key listed till %p (no slot or hold gives it) leaves the list",
  async (bad) => {
    await using v = await engineQueue();
    const prefix = PREFIX_OF(v);
    await writeLimits(v.client, prefix, "q", { keyConcurrency: 1 });
    const lk = limitKeys(prefix, "q");
    // Left by an earlier Courier's endless slot (a task of no time limit), or a hand edit: info
    // showed the key held "in Infinityd" for ever.
    await v.r.sendCommand(["ZADD", lk.keys, bad, "h"]);
    await reserveSlots(v.client, lk, o, [ask("a", "other")]);
    expect(await v.r.sendCommand(["ZSCORE", lk.keys, "h"])).toBeNull();
  },
);

test("the bounds are past any slot a rate gives and any hold, by a day", async () => {
  const lua = await Bun.file(new URL("../lib/engine/lua/limit.lua", import.meta.url)).text();
  // The longest spacing is one start per RATE_PER_MAX_MS (and at most 20 ms of lateness).
  expect(lua).toContain("local SLOT_MOST_MS = 8 * 86400000\n");
  expect(8 * 86_400_000).toBe(RATE_PER_MAX_MS + 86_400_000);
  expect(lua).toContain("local HELD_MOST_MS = 2 * 86400000\n");
  expect(2 * 86_400_000).toBe(HOLD_MAX_MS + 86_400_000);
});
