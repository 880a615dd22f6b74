// The engine's enqueue (lib/engine/enqueue.ts, lua/enqueue.lua) against a real Redis: one
// XADD per job with the job in the entry, consecutive ids, a receipt that makes a re-sent batch
// add nothing, caller ids as idempotency keys, delayed jobs due at Redis' TIME + delay, and a
// full Redis refusing a batch whole.
import { describe, expect, test } from "bun:test";
import { enqueueBatch, enqueueJobs, prepareBatch } from "../lib/engine/enqueue.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { InputError } from "../lib/errors.ts";
import { connect } from "../lib/redis/connect.ts";
import { asClient, enqueue, freshQueue, jobs, redisTime } from "./fixtures/engine.ts";
import { startSmallRedis } from "./fixtures/redis-small.ts";
import { rawRedis, testPrefix } from "./helpers.ts";

describe("enqueue", () => {
  test("1,000 jobs: consecutive entry ids (first + k), entries with the four common fields", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const out = await enqueue(r, keys, jobs(1000));
    expect(out).toHaveLength(1000);
    const [ms, seq] = out[0]!.id.split("-").map(Number) as [number, number];
    out.forEach((e, k) => {
      expect(e).toEqual({ id: `${ms}-${seq + k}`, entryId: `${ms}-${seq + k}`, created: true });
    });
    const entries = (await r.sendCommand(["XRANGE", keys.stream, "-", "+"])) as [
      string,
      string[],
    ][];
    expect(entries.map(([id]) => id)).toEqual(out.map((e) => e.id));
    entries.forEach(([, fields], k) => {
      expect(fields).toEqual(["t", "t", "p", JSON.stringify({ n: k }), "a", "0", "m", "3"]);
    });
    expect(await r.sendCommand(["HGET", keys.stats, "enqueued"])).toBe("1000");
    // No record for auto-id jobs: the entry is the whole job.
    expect(await r.sendCommand(["KEYS", `${keys.recordPrefix}*`])).toEqual([]);
  });

  test("a batch sent again (same receipt) returns the same ids and adds nothing", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const batch = prepareBatch([
      ...jobs(3),
      { id: "given-1", task: "t", payload: "1", maxAttempts: 2 },
      { task: "t", payload: "2", maxAttempts: 2, delayMs: 60_000 },
    ]);
    const first = await enqueueJobs(asClient(r), keys, batch);
    const again = await enqueueJobs(asClient(r), keys, batch);
    expect(again).toEqual(first);
    // The receipt's reply says so (a scheduler tells its tick's job made before).
    expect((await enqueueBatch(asClient(r), keys, batch)).replayed).toBe(true);
    // The receipt outlives any re-send of the producer's, and then goes.
    const pttl = Number(await r.sendCommand(["PTTL", keys.receipt(batch.batchId)]));
    expect(pttl).toBeGreaterThan(50_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
    expect(first.map((e) => e.created)).toEqual([true, true, true, true, true]);
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(4);
    expect(await r.sendCommand(["ZCARD", keys.delayed])).toBe(1);
    expect(await r.sendCommand(["HGET", keys.stats, "enqueued"])).toBe("5");
    // A new batch of the same jobs is new jobs: the receipt, not the content, is the key.
    await enqueueJobs(asClient(r), keys, prepareBatch(jobs(3)));
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(7);
  });

  test("a caller id enqueued twice: created false the second time, one entry, the record as marker", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const spec = { id: "order-7", task: "t", payload: '{"x":1}', maxAttempts: 4 };
    const [a] = await enqueue(r, keys, [spec]);
    const [b, c] = await enqueue(r, keys, [spec, { ...spec, payload: "other" }]);
    expect(a).toMatchObject({ id: "order-7", created: true });
    expect(a!.entryId).toMatch(/^\d+-\d+$/);
    expect(b).toEqual({ id: "order-7", entryId: null, created: false });
    expect(c).toEqual({ id: "order-7", entryId: null, created: false });
    const entries = (await r.sendCommand(["XRANGE", keys.stream, "-", "+"])) as [
      string,
      string[],
    ][];
    expect(entries).toEqual([
      [a!.entryId!, ["t", "t", "p", '{"x":1}', "a", "0", "m", "4", "i", "order-7"]],
    ]);
    const record = await r.sendCommand(["HGETALL", keys.record("order-7")]);
    expect(record).toEqual(["e", a!.entryId, "q", a!.entryId!.split("-")[0]]);
    expect(await r.sendCommand(["HGET", keys.stats, "enqueued"])).toBe("1");
  });

  test("a caller id of the auto-id form is refused with one line", () => {
    expect(() => prepareBatch([{ id: "123-4", task: "t", payload: "1", maxAttempts: 1 }])).toThrow(
      new InputError(
        'job id "123-4" has the form of an id Courier makes (digits-digits): add a letter',
      ),
    );
  });

  test("a delayed job: a record and the delayed set, due at Redis' TIME + delay; no entry yet", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const before = await redisTime(r);
    const [d] = await enqueue(r, keys, [
      { task: "t", payload: "7", maxAttempts: 2, delayMs: 5000 },
    ]);
    const after = await redisTime(r);
    expect(d!.entryId).toBeNull();
    expect(d!.id).not.toMatch(/^\d+-\d+$/); // made by the producer: no entry to take it from
    const due = Number(await r.sendCommand(["ZSCORE", keys.delayed, d!.id]));
    expect(due).toBeGreaterThanOrEqual(before + 5000);
    expect(due).toBeLessThanOrEqual(after + 5000);
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(0);
    const record = await r.sendCommand(["HGETALL", keys.record(d!.id)]);
    const f = new Map<string, string>();
    for (let i = 0; i < record.length; i += 2) f.set(record[i], record[i + 1]);
    expect(Object.fromEntries(f)).toMatchObject({
      t: "t",
      p: "7",
      a: "0",
      m: "2",
      status: "queued",
    });
    expect(Number(f.get("q"))).toBeGreaterThanOrEqual(before);
    expect(Number(f.get("q"))).toBeLessThanOrEqual(after);
  });

  test("a full Redis refuses a whole batch: nothing written", async () => {
    await using small = await startSmallRedis(0);
    const client = await connect(small.url);
    try {
      const keys = queueKeys(testPrefix(), "q");
      const [given] = await enqueueJobs(client, keys, prepareBatch([...jobs(1, { id: "kept" })]));
      await small.capBelowUsed();
      const batch = prepareBatch([
        { id: "kept", task: "t", payload: "1", maxAttempts: 1 }, // exists: read, no write
        ...jobs(50),
        { id: "new-one", task: "t", payload: "1", maxAttempts: 1 },
        { task: "t", payload: "1", maxAttempts: 1, delayMs: 1000 },
      ]);
      await expect(enqueueJobs(client, keys, batch)).rejects.toThrow(/^OOM/);
      await small.raise(0);
      expect(await client.sendCommand<unknown>(["XRANGE", keys.stream, "-", "+"])).toEqual([
        [given!.entryId, ["t", "t", "p", '{"n":0}', "a", "0", "m", "3", "i", "kept"]],
      ]);
      expect(
        await client.sendCommand<unknown>(["EXISTS", keys.delayed, keys.record("new-one")]),
      ).toBe(0);
      expect(await client.sendCommand<unknown>(["EXISTS", keys.receipt(batch.batchId)])).toBe(0);
      expect(await client.sendCommand<unknown>(["HGET", keys.stats, "enqueued"])).toBe("1");
      // With room again the same batch goes in whole.
      const out = await enqueueJobs(client, keys, batch);
      expect(out.map((e) => e.created)).toEqual([false, ...Array(52).fill(true)]);
    } finally {
      client.destroy();
    }
  });

  test("a counter field that is not an integer: the batch is enqueued and its receipt kept (a re-send adds nothing)", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await r.sendCommand(["HSET", keys.stats, "enqueued", "x"]);
    const batch = prepareBatch(jobs(2));
    const first = await enqueueJobs(asClient(r), keys, batch);
    expect(await enqueueJobs(asClient(r), keys, batch)).toEqual(first);
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(2);
    expect(await r.sendCommand(["HGET", keys.stats, "enqueued"])).toBe("2");
  });
});
