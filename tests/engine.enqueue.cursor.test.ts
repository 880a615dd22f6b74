// What an enqueue reads and writes beyond its jobs (lib/engine/lua/enqueue.lua): the events
// stream's cursor in its reply (read in the same call, so no event of the batch's jobs comes
// before it), the format only on a queue without `meta`, and the delayed set's type checked
// only for a batch that writes it.
import { describe, expect, test } from "bun:test";
import { enqueueBatch, enqueueJobs, prepareBatch } from "../lib/engine/enqueue.ts";
import { DATA_FORMAT } from "../lib/engine/keys.ts";
import { asClient, freshQueue, jobs } from "./fixtures/engine.ts";
import { commandCalls, rawRedis } from "./helpers.ts";

describe("the enqueue reply's events cursor", () => {
  test("0-0 on a queue with no events; else the last event's id, also from a re-sent batch", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const first = await enqueueBatch(asClient(r), keys, prepareBatch(jobs(2)));
    expect(first.eventsCursor).toBe("0-0");
    expect(first.jobs.map((j) => j.created)).toEqual([true, true]);
    await r.sendCommand(["XADD", keys.events, "*", "type", "finished", "ids", "x"]);
    const last = String(
      await r.sendCommand(["XADD", keys.events, "*", "type", "finished", "ids", "y"]),
    );
    const batch = prepareBatch(jobs(1));
    expect((await enqueueBatch(asClient(r), keys, batch)).eventsCursor).toBe(last);
    await r.sendCommand(["XADD", keys.events, "*", "type", "finished", "ids", "z"]);
    // The receipt's reply: the cursor from before the batch's jobs existed.
    expect((await enqueueBatch(asClient(r), keys, batch)).eventsCursor).toBe(last);
  });

  test("none when no job was created, or when the events key is not a stream (the batch goes in)", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const spec = { id: "order-1", task: "t", payload: "1", maxAttempts: 1 };
    await enqueueJobs(asClient(r), keys, prepareBatch([spec]));
    expect((await enqueueBatch(asClient(r), keys, prepareBatch([spec]))).eventsCursor).toBeNull();
    await r.sendCommand(["SET", keys.events, "oops"]);
    const out = await enqueueBatch(asClient(r), keys, prepareBatch(jobs(1)));
    expect(out.eventsCursor).toBeNull();
    expect(out.jobs[0]!.created).toBe(true);
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(2);
  });
});

describe("the calls of an enqueue", () => {
  test("the format is written on a queue without meta, and left alone on one with it", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await enqueueJobs(asClient(r), keys, prepareBatch(jobs(1)));
    const [format, createdAt] = await r.sendCommand(["HMGET", keys.meta, "format", "created_at"]);
    expect(format).toBe(String(DATA_FORMAT));
    expect(Number(createdAt)).toBeGreaterThan(0);
    const [types, hsets] = [
      await commandCalls(r, "type", keys.stream),
      await commandCalls(r, "hset", keys.stream),
    ];
    await enqueueJobs(asClient(r), keys, prepareBatch(jobs(1)));
    // stream, stats, meta (no delayed job: the delayed set is not touched); no write of meta.
    expect((await commandCalls(r, "type", keys.stream)) - types).toBe(3);
    expect((await commandCalls(r, "hset", keys.stream)) - hsets).toBe(0);
    expect(await r.sendCommand(["HGET", keys.meta, "format"])).toBe(String(DATA_FORMAT));
  });

  test("a delayed set of the wrong type refuses a batch with a delayed job, not one without", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await r.sendCommand(["SET", keys.delayed, "oops"]);
    const delayed = prepareBatch([
      ...jobs(2),
      { task: "t", payload: "1", maxAttempts: 1, delayMs: 5 },
    ]);
    await expect(enqueueJobs(asClient(r), keys, delayed)).rejects.toThrow(
      /courier: key \S+:delayed holds a string, not a zset/,
    );
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(0);
    expect(await r.sendCommand(["EXISTS", keys.receipt(delayed.batchId)])).toBe(0);
    const now = await enqueueJobs(asClient(r), keys, prepareBatch(jobs(2)));
    expect(now.map((j) => j.created)).toEqual([true, true]);
  });
});
