// One limit key's own keys of the wrong type (a hand edit, another program sharing the prefix):
// limit.lua settles that key's jobs on their own (held a minute, `corrupt`, naming the key; no
// write to that key's keys) while the other keys' jobs in the same call are decided as ever.
// The queue-wide limiter keys are refused before any write, as every script refuses its own
// (include/wrongtype.lua). Against the real Redis of tests/preload.ts.
import { describe, expect, test } from "bun:test";
import { type LimitKeys, limitKeys } from "../lib/engine/keys.ts";
import { type LimitVerdict, reserveSlots } from "../lib/engine/limit.ts";
import { type Limits, writeLimits } from "../lib/engine/limits.ts";
import { type EngineQueue, engineQueue, redisNow } from "./fixtures/plant.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const ask = (jobId: string, limitKey: string) => ({ jobId, limitKey, slotMs: 60_000 });
const o = { horizonMs: 1000, shard: 0 };
const limits: Limits = { rate: null, keyConcurrency: 1, keyRate: { count: 10, perMs: 1000 } };

/** Every key of limit key `key`, by type, with its dump: what a call must leave as it was. */
async function keysOf(v: EngineQueue, lk: LimitKeys, key: string): Promise<unknown[]> {
  const names = [lk.key(key), lk.running(key), lk.waiting(key), lk.rateHeld(key)];
  names.push(lk.rateWaking(key));
  return Promise.all(names.map((n) => v.r.sendCommand(["DUMP", n])));
}

interface Case {
  name: string;
  key: (lk: LimitKeys) => string;
  type: string;
  /** Brings the decision to the command that reads that key (else it is never touched). */
  setup?: (v: EngineQueue, lk: LimitKeys, now: number) => Promise<unknown>;
}

// biome-ignore format: a table
const cases: Case[] = [
  { name: "its hash", key: (lk) => lk.key("bad"), type: "hash" },
  { name: "its running set", key: (lk) => lk.running("bad"), type: "zset" },
  { name: "its waiting list", key: (lk) => lk.waiting("bad"), type: "zset",
    setup: (v, lk, now) => v.r.sendCommand(["ZADD", lk.running("bad"), String(now + 600_000), "x"]) },
  { name: "its rate-held set", key: (lk) => lk.rateHeld("bad"), type: "zset",
    setup: (v, lk, now) => v.r.sendCommand(["HSET", lk.key("bad"), "tat", String(now + 600_000)]) },
  { name: "its rate-waking copy", key: (lk) => lk.rateWaking("bad"), type: "zset" },
];

describe("a limit key's own key of the wrong type", () => {
  test.each(cases.map((c) => [c.name, c] as const))(
    "%s a string: its job held a minute naming the key, the others decided, the key untouched",
    async (_name, c) => {
      await using v = await engineQueue();
      const lk = limitKeys(PREFIX_OF(v), "q");
      await writeLimits(v.client, PREFIX_OF(v), "q", limits);
      const now = await redisNow(v);
      await c.setup?.(v, lk, now);
      const bad = c.key(lk);
      await v.r.sendCommand(["SET", bad, "not ours"]);
      const before = await keysOf(v, lk, "bad");
      const asks = [ask("a", "good"), ask("b", "bad"), ask("c", "other")];
      const got = await reserveSlots(v.client, lk, o, asks);
      expect(got.map((g) => g.kind)).toEqual(["start", "hold", "start"]);
      const held = got[1] as Extract<LimitVerdict, { kind: "hold" }>;
      expect(held.why).toBe("corrupt");
      expect(held.problem).toBe(`${bad} holds a string, not a ${c.type}`);
      expect(held.dueMs).toBeGreaterThanOrEqual(now + 60_000);
      expect(held.dueMs).toBeLessThan(now + 70_000);
      expect(await keysOf(v, lk, "bad")).toEqual(before);
      // Listed as held till then: `info` and the dashboard show the key.
      expect(Number(await v.r.sendCommand(["ZSCORE", lk.keys, "bad"]))).toBe(held.dueMs);
      // Once the key is deleted, the same ask is decided as any other.
      await v.r.sendCommand(["DEL", bad]);
      await v.r.sendCommand(["DEL", lk.running("bad"), lk.key("bad")]);
      const again = await reserveSlots(v.client, lk, o, [ask("b", "bad")]);
      expect(again.map((g) => g.kind)).toEqual(["start"]);
    },
  );

  test("every job of the bad key in a call held; another key's between them starts", async () => {
    await using v = await engineQueue();
    const lk = limitKeys(PREFIX_OF(v), "q");
    await writeLimits(v.client, PREFIX_OF(v), "q", { ...limits, keyConcurrency: 5 });
    await v.r.sendCommand(["HSET", lk.running("bad"), "x", "y"]);
    const asks = [ask("a", "bad"), ask("b", "good"), ask("c", "bad")];
    const got = await reserveSlots(v.client, lk, o, asks);
    expect(got.map((g) => (g.kind === "hold" ? g.why : g.kind))).toEqual([
      "corrupt",
      "start",
      "corrupt",
    ]);
  });

  test("a key the settings leave unused is no problem: no key rate, its rate-held set ignored", async () => {
    await using v = await engineQueue();
    const lk = limitKeys(PREFIX_OF(v), "q");
    await writeLimits(v.client, PREFIX_OF(v), "q", { ...limits, keyRate: null });
    await v.r.sendCommand(["SET", lk.rateHeld("bad"), "not ours"]);
    await v.r.sendCommand(["SET", lk.rateWaking("bad"), "not ours"]);
    const got = await reserveSlots(v.client, lk, o, [ask("a", "bad")]);
    expect(got.map((g) => g.kind)).toEqual(["start"]);
  });
});

// biome-ignore format: a table
const queueWide: { name: string; key: (lk: LimitKeys) => string; type: string }[] = [
  { name: "layout", key: (lk) => lk.layout, type: "hash" },
  { name: "rate", key: (lk) => lk.rate, type: "string" },
  { name: "gaps", key: (lk) => lk.gaps, type: "zset" },
  { name: "keys", key: (lk) => lk.keys, type: "zset" },
];

describe("a queue-wide limiter key of the wrong type", () => {
  test.each(queueWide.map((c) => [c.name, c] as const))(
    "%s: refused naming the key before any write",
    async (_name, c) => {
      await using v = await engineQueue();
      const lk = limitKeys(PREFIX_OF(v), "q");
      await writeLimits(v.client, PREFIX_OF(v), "q", {
        ...limits,
        rate: { count: 100, perMs: 1000 },
      });
      const key = c.key(lk);
      await v.r.sendCommand(["DEL", key]);
      if (c.type === "string") await v.r.sendCommand(["HSET", key, "x", "y"]);
      else await v.r.sendCommand(["SET", key, "not ours"]);
      const names = [lk.layout, lk.rate, lk.gaps, lk.keys, lk.key("a"), lk.running("a")];
      const before = await Promise.all(names.map((n) => v.r.sendCommand(["DUMP", n])));
      const call = reserveSlots(v.client, lk, o, [ask("x", ""), ask("y", "a")]);
      await expect(call).rejects.toThrow(`courier: key ${key} holds a `);
      const after = await Promise.all(names.map((n) => v.r.sendCommand(["DUMP", n])));
      expect(after).toEqual(before);
    },
  );
});
