// holdForTask's arithmetic and counting (lib/worker/held.ts): a hold is never shorter than the
// back-off (a Retry-After of 0 must not spend every hold at once) nor longer than a day; a hold
// is counted only once it applied: not by a stale run (its entry is another's now), and not
// when Redis failed, since the caller then records a failed attempt instead.
import { describe, expect, test } from "bun:test";
import { HOLD_MAX_MS } from "../lib/engine/hold-key.ts";
import { HeldError } from "../lib/errors.ts";
import { silentLogger } from "../lib/log.ts";
import { resolveOptions } from "../lib/options.ts";
import type { Startable } from "../lib/worker/entries.ts";
import { holdForTask, holdMs, TASK_HOLDS_FIELD } from "../lib/worker/held.ts";
import { engineQueue } from "./fixtures/plant.ts";
import { redisUrl, testPrefix } from "./helpers.ts";

// Jitter fixed at its middle: the back-off is exactly backoffBaseMs · 2^holds.
const o = resolveOptions({ redisUrl: redisUrl(), backoffBaseMs: 1_000, random: () => 0.5 });

describe("holdMs", () => {
  test.each([
    ["nothing asked: the back-off", undefined, 0, 1_000],
    ["0: the back-off, not 0", 0, 0, 1_000],
    ["0 after 3 holds: the back-off of the 4th", 0, 3, 8_000],
    ["negative: the back-off", -5, 0, 1_000],
    ["NaN: the back-off", Number.NaN, 0, 1_000],
    ["longer than the back-off: as asked", 5_000, 0, 5_000],
    ["a fraction: up to a whole ms", 1_500.2, 0, 1_501],
    ["Infinity: the longest hold", Number.POSITIVE_INFINITY, 0, HOLD_MAX_MS],
    ["past a day: a day", 10 * HOLD_MAX_MS, 0, HOLD_MAX_MS],
  ])("%s", (_, asked, holds, ms) => {
    expect(holdMs(asked, holds, o)).toBe(ms);
  });
});

describe("HeldError's message", () => {
  test.each([
    [undefined, "held"],
    [2_500, "held for 3 s"],
    [-5, "held"],
    [0, "held"],
    [Number.NaN, "held"],
    [Number.POSITIVE_INFINITY, "held for as long as a hold may be"],
  ])("HeldError(%p)", (ms, message) => {
    expect(new HeldError(ms).message).toBe(message);
  });
});

describe("counting a hold", () => {
  const job = (entryId: string): Startable => ({
    entryId,
    jobId: entryId,
    task: "t",
    payload: "null",
    attempt: 1,
    maxAttempts: 3,
    runNo: 1,
    deliveries: 1,
    hasRecord: true,
    limitKey: "h1",
  });

  test("a stale run's hold counts nothing on the job's record (its entry is not pending here)", async () => {
    await using v = await engineQueue();
    const id = "1-1";
    await v.r.sendCommand(["HSET", v.k.record(id), "status", "started", TASK_HOLDS_FIELD, "1"]);
    const parts = {
      client: () => v.client,
      keys: v.k,
      o: { ...o, name: "w1", prefix: testPrefix() },
      log: silentLogger,
      holdKey: async (_key: string, ms: number) => Date.now() + ms,
    };
    const ask = { askedMs: 10, key: undefined, error: "busy" };
    expect(await holdForTask(parts, job(id), ask)).toEqual({ held: true });
    expect(await v.r.sendCommand(["HGET", v.k.record(id), TASK_HOLDS_FIELD])).toBe("1");
  });

  test("a hold count that is not one (a hand-edited field) fails the job for good, saying why", async () => {
    await using v = await engineQueue();
    const id = "1-1";
    await v.r.sendCommand(["HSET", v.k.record(id), "status", "started", TASK_HOLDS_FIELD, "x"]);
    let held = 0;
    const parts = {
      client: () => v.client,
      keys: v.k,
      o: { ...o, name: "w1", prefix: testPrefix() },
      log: silentLogger,
      holdKey: async (_key: string, ms: number) => {
        held++;
        return Date.now() + ms;
      },
    };
    const ask = { askedMs: 10, key: undefined, error: "busy" };
    const out = await holdForTask(parts, job(id), ask);
    expect(out).toMatchObject({ held: false, permanent: true });
    expect(held).toBe(0);
  });

  test("a hold Redis could not write counts nothing (the caller records a failed attempt)", async () => {
    await using v = await engineQueue();
    const id = "1-1";
    await v.r.sendCommand(["HSET", v.k.record(id), "status", "started"]);
    const parts = {
      client: () => v.client,
      keys: v.k,
      o: { ...o, name: "w1" },
      log: silentLogger,
      holdKey: async () => {
        throw new Error("connection lost");
      },
    };
    const ask = { askedMs: 10, key: undefined, error: "busy" };
    await expect(holdForTask(parts, job(id), ask)).rejects.toThrow("connection lost");
    expect(await v.r.sendCommand(["HGET", v.k.record(id), TASK_HOLDS_FIELD])).toBeNull();
  });
});
