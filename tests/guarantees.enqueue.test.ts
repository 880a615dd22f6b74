// Enqueue checks every spec before it sends any: a bad one throws an InputError naming the
// problem, and nothing of the batch is enqueued (docs/internals.md, "Enqueue").
import { describe, expect, test } from "bun:test";
import { InputError } from "../lib/errors.ts";
import type { JobSpec } from "../lib/producer.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

describe("a bad spec in a batch", () => {
  test.each([
    ["an id outside the alphabet", { task: "t", id: "a b" }, 'job id "a b" must be 1-128'],
    ["an id too long", { task: "t", id: "x".repeat(129) }, "must be 1-128 letters"],
    ["no task name", { task: "" }, "a job needs a task name"],
    ["maxAttempts 0", { task: "t", maxAttempts: 0 }, "maxAttempts must be 1 or more"],
    ["maxAttempts 1.5", { task: "t", maxAttempts: 1.5 }, "maxAttempts must be 1 or more"],
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
