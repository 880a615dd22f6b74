// Enqueue checks every spec before it sends any: a bad one throws an InputError naming the
// problem, and nothing of the batch is enqueued (docs/internals.md, "Enqueue").
import { describe, expect, test } from "bun:test";
import { InputError } from "../lib/errors.ts";
import type { JobSpec } from "../lib/queue/prepare.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

describe("a bad spec in a batch", () => {
  test.each([
    ["an id outside the alphabet", { task: "t", id: "a b" }, 'job id "a b" must be 1-128'],
    ["an id too long", { task: "t", id: "x".repeat(129) }, "must be 1-128 letters"],
    ["no task name", { task: "" }, "a job needs a task name"],
    ["maxAttempts 0", { task: "t", maxAttempts: 0 }, "maxAttempts must be a whole number from 1"],
    ["maxAttempts 1.5", { task: "t", maxAttempts: 1.5 }, "from 1 to 1000000, got the number 1.5"],
    // Enqueued, then dead-lettered as corrupt at their first start, before the bound.
    [
      "maxAttempts 1e16",
      { task: "t", maxAttempts: 1e16 },
      "from 1 to 1000000, got the number 10000000000000000",
    ],
    [
      "maxAttempts 1e21",
      { task: "t", maxAttempts: 1e21 },
      "from 1 to 1000000, got the number 1e+21",
    ],
    // Parked forever before the bound.
    ["delayMs Infinity", { task: "t", delayMs: Infinity }, "delayMs must be a number of"],
    [
      "delayMs NaN",
      { task: "t", delayMs: Number.NaN },
      "up to 31536000000 (one year), got the number NaN",
    ],
    [
      "delayMs past a year",
      { task: "t", delayMs: 31_536_000_001 },
      "(one year), got the number 31536000001",
    ],
  ] as [string, JobSpec, string][])("%s: InputError, nothing enqueued", async (_, bad, message) => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const err = await q.enqueueMany([{ task: "t", payload: 1 }, bad]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(message);
    expect(Number(await r.sendCommand(["XLEN", q.keys.stream]))).toBe(0);
    expect(await r.sendCommand(["HGET", q.keys.stats, "enqueued"])).toBeNull();
  });
});
