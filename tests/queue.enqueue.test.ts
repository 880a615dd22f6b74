import { describe, expect, test } from "bun:test";
import { InputError } from "../lib/errors.ts";
import { onNodeOf } from "../lib/redis/cluster.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { defineTask } from "../lib/types.ts";
import { openQueue, pinShards, rawRedis, redisTime, testPrefix } from "./helpers.ts";

// These tests read and plant one shard's own keys (q.keys): their queues have one shard, on a
// cluster one slot.
pinShards(1);

describe("enqueue", () => {
  test("puts the job in one stream entry (no hash): its id is the entry's", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const id = await q.enqueue("echo", { n: 1 });
    const job = await q.getJob(id);
    expect(job).toMatchObject({
      id,
      task: "echo",
      status: "queued",
      payload: { n: 1 },
      attempts: 0,
    });
    expect(job?.maxAttempts).toBe(3);
    const entries = (await r.sendCommand(["XRANGE", q.keys.stream, "-", "+"])) as [
      string,
      string[],
    ][];
    expect(entries).toEqual([[id, ["t", "echo", "p", '{"n":1}', "a", "0", "m", "3"]]]);
    expect(await r.sendCommand(["EXISTS", q.keys.record(id)])).toBe(0);
  });

  test("ids are the jobs' entry ids: time-ordered, unique per job", async () => {
    await using q = await openQueue({ prefix: testPrefix(), enqueueBatchSize: 7 });
    await using r = await rawRedis();
    const ids = (await q.enqueueMany(Array.from({ length: 50 }, () => ({ task: "t" })))).map(
      (e) => e.id,
    );
    expect(new Set(ids).size).toBe(50);
    const entries = (await r.sendCommand(["XRANGE", q.keys.stream, "-", "+"])) as [string][];
    expect(ids).toEqual(entries.map((e) => e[0]));
  });

  test("a caller-given id is an idempotency key: the second enqueue adds nothing", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const first = await q.enqueueMany([{ task: "t", payload: 1, id: "order-42" }]);
    const second = await q.enqueueMany([{ task: "t", payload: 2, id: "order-42" }]);
    expect(first).toEqual([{ id: "order-42", created: true }]);
    expect(second).toEqual([{ id: "order-42", created: false }]);
    expect((await q.getJob("order-42"))?.payload).toBe(1);
    expect(await r.sendCommand(["XLEN", q.keys.stream])).toBe(1);
  });

  test("bulk enqueue keeps input order across batches", async () => {
    await using q = await openQueue({ prefix: testPrefix(), enqueueBatchSize: 7 });
    await using r = await rawRedis();
    const specs = Array.from({ length: 100 }, (_, i) => ({
      task: "t",
      payload: i,
      id: `job-${i}`,
    }));
    const done = await q.enqueueMany(specs);
    expect(done.map((d) => d.id)).toEqual(specs.map((s) => s.id));
    const entries = (await r.sendCommand(["XRANGE", q.keys.stream, "-", "+"])) as [
      string,
      string[],
    ][];
    const idOf = (fields: string[]) => fields[fields.indexOf("i") + 1];
    expect(entries.map((e) => idOf(e[1]))).toEqual(specs.map((s) => s.id));
    const stats = (await r.sendCommand(["HGET", q.keys.stats, "enqueued"])) as string;
    expect(Number(stats)).toBe(100);
  });

  test("a delayed job waits in the delayed set, scored by its due time on Redis' clock", async () => {
    // The producer's clock is a day off: the due time is Redis' time plus the delay all the same.
    await using q = await openQueue({ prefix: testPrefix(), now: () => Date.now() - 86_400_000 });
    await using r = await rawRedis();
    const before = await redisTime(r);
    const id = await q.enqueue("t", null, { delayMs: 5_000 });
    const after = await redisTime(r);
    expect(await r.sendCommand(["XLEN", q.keys.stream])).toBe(0);
    const score = Number(await r.sendCommand(["ZSCORE", q.keys.delayed, id]));
    expect(score).toBeGreaterThanOrEqual(before + 5_000);
    expect(score).toBeLessThanOrEqual(after + 5_000);
    expect(await q.getJob(id)).toMatchObject({ status: "scheduled", runAt: score });
  });

  test.each([
    [{ task: "t", id: "has space" }, "job id"],
    [{ task: "t", id: "" }, "job id"],
    [{ task: "t", id: "x".repeat(129) }, "job id"],
    [{ task: "t", id: "123-4" }, 'job id "123-4" has the form of an id Courier makes'],
    [{ task: "t", id: "123-4:0" }, "has the form of an id Courier makes (digits-digits)"],
    [{ task: "t", id: "sched:a:1" }, "reserved for the jobs of recurring schedules"],
    [{ task: "" }, "task name"],
    [{ task: "t", maxAttempts: 0 }, "maxAttempts"],
  ])("refuses %j and enqueues nothing", async (spec, message) => {
    // One job per batch: every spec is checked before the first batch goes.
    await using q = await openQueue({ prefix: testPrefix(), enqueueBatchSize: 1 });
    await using r = await rawRedis();
    const good = { task: "t", id: "fine" };
    const err = await q.enqueueMany([good, spec]).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain(message);
    expect(await r.sendCommand(["XLEN", q.keys.stream])).toBe(0);
  });

  test("a task's validate runs before anything is sent", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const positive = defineTask({
      name: "sqrt",
      validate: (p: unknown) => {
        if (typeof p !== "number" || p < 0) throw new InputError("need a number ≥ 0");
        return p;
      },
      run: async (p: number) => Math.sqrt(p),
    });
    await expect(q.enqueue(positive, -1)).rejects.toThrow("need a number ≥ 0");
    const id = await q.enqueue(positive, 9);
    expect((await q.getJob(id))?.payload).toBe(9);
  });

  test("a validate or limitKey that returns a promise is refused: nothing sent, its rejection caught", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    // An async validate: taken as given, every job's payload was the promise (`{}`), and its
    // refusal an unhandled rejection.
    const checked = defineTask({
      name: "checked",
      validate: async (p: unknown) => {
        if (p === null) throw new InputError("need a payload");
        return p;
      },
      run: async (p: unknown) => p,
    });
    // As plain JavaScript writes it: TypeScript refuses an async limitKey.
    const keyed = defineTask({
      name: "keyed",
      limitKey: (async () => "host") as never,
      run: async () => 1,
    });
    for (const [task, payload, what] of [
      [checked, { n: 1 }, "validate"],
      [checked, null, "validate"],
      [keyed, null, "limitKey"],
    ] as const) {
      const err = await q.enqueue(task, payload).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toBe(
        `task "${task.name}": ${what} returned a promise (an async function?): it runs at the enqueue and must return its answer, or throw, without awaiting`,
      );
    }
    expect(await r.sendCommand(["XLEN", q.keys.stream])).toBe(0);
  });

  test("getJob of an unknown id is null; mustGetJob says it may have expired", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    expect(await q.getJob("nope")).toBeNull();
    await expect(q.mustGetJob("nope")).rejects.toThrow("unknown id, or its record has expired");
  });
});

describe("the receipt that makes a re-sent batch safe", () => {
  test.each([
    // [retryConnectS, waitForMemoryS, the receipt lives at least (ms)]
    [0, 0, 60_000],
    [600, 0, 660_000],
    [0, 3_600, 3_660_000],
  ])(
    "retryConnectS %d, waitForMemoryS %d: kept at least %d ms, past the last re-send",
    async (retryConnectS, waitForMemoryS, atLeastMs) => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix, retryConnectS, waitForMemoryS });
      await using r = await rawRedis();
      await q.enqueue("t", null);
      const keys: string[] = [];
      let cursor = "0";
      // SCAN on the server holding the queue (on a cluster, its slot's master).
      const node = onNodeOf(r as unknown as Redis, q.keys.stream);
      do {
        const match = ["MATCH", `${prefix}:*receipt:*`, "COUNT", "1000"];
        const [next, found] = (await node.sendCommand(["SCAN", cursor, ...match])) as [
          string,
          string[],
        ];
        cursor = next;
        keys.push(...found);
      } while (cursor !== "0");
      expect(keys.length).toBe(1);
      const pttl = Number(await r.sendCommand(["PTTL", keys[0]!]));
      expect(pttl).toBeGreaterThan(atLeastMs - 5_000);
      expect(pttl).toBeLessThanOrEqual(atLeastMs);
    },
  );
});
