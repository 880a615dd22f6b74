// Rates checked wherever they come from (lib/engine/rates.ts): the CLI's text (parseRate) and
// the library's objects (writeLimits, Admin.setLimits) by the same rule: a whole count from 1 to
// RATE_COUNT_MAX per a whole number of milliseconds from 1 to 7 days. A rate stored otherwise
// would be read back as no limit, or as a rate not asked for.
import { describe, expect, test } from "bun:test";
import { NO_LIMITS, readLimits, writeLimits } from "../lib/engine/limits.ts";
import { parseRate, RATE_COUNT_MAX } from "../lib/engine/rates.ts";
import { InputError } from "../lib/errors.ts";
import { type EngineQueue, engineQueue } from "./fixtures/plant.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));

describe("parseRate: a fraction of a millisecond is refused, not rounded", () => {
  test.each(["1/1.5ms", "1/0.0015s", "2/0.5ms"])("%p is refused", (text) => {
    expect(() => parseRate(text)).toThrow(/whole number of milliseconds/);
  });
  test.each([
    ["3/1.5s", 1500],
    ["1/0.5s", 500],
  ])("%p is %p ms", (text, perMs) => {
    expect(parseRate(text).perMs).toBe(perMs);
  });
});

describe("writeLimits refuses a rate parseRate would refuse, writing nothing", () => {
  test.each([
    ["a fractional count", { rate: { count: 1.5, perMs: 1000 } }],
    ["a fractional interval", { rate: { count: 1, perMs: 0.5 } }],
    ["a count past the most", { rate: { count: RATE_COUNT_MAX + 1, perMs: 1000 } }],
    ["a zero count", { keyRate: { count: 0, perMs: 1000 } }],
    ["a fractional key interval", { keyRate: { count: 2, perMs: 1500.5 } }],
    ["an interval past 7 days", { keyRate: { count: 2, perMs: 8 * 86_400_000 } }],
  ])("%s", async (_, change) => {
    await using v = await engineQueue();
    const write = writeLimits(v.client, PREFIX_OF(v), "q", { keyConcurrency: 2, ...change });
    await expect(write).rejects.toThrow(InputError);
    expect(await readLimits(v.client, PREFIX_OF(v), "q")).toEqual(NO_LIMITS);
  });
});
