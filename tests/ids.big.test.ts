// Stream ids past what a Lua number prints or holds exactly (docs/internals.md, "Job ids"): ids
// are text in the scripts (lib/engine/lua/include/ids.lua), BigInt in the client, so a stream
// whose last id is huge takes and finishes jobs with exact ids, and a stream with no ids left
// refuses a batch whole, in one line.
import { describe, expect, test } from "bun:test";
import { enqueueJobs, prepareBatch } from "../lib/engine/enqueue.ts";
import { failJobs } from "../lib/engine/fail.ts";
import { type QueueKeys, queueKeys } from "../lib/engine/keys.ts";
import { asClient, enqueue, freshQueue, jobs, take } from "./fixtures/engine.ts";
import { finishItems } from "./fixtures/finish.ts";
import { deliver, engineQueue, failedAttempt, hgetall, plant } from "./fixtures/plant.ts";
import {
  oneShardFile,
  pendingCount,
  type RawRedis,
  rawRedis,
  runCli,
  testPrefix,
} from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

const MAX = "18446744073709551615";
const STACK_FRAME = /^\s+at .+:\d+/m;

/** Makes `id` the stream's last id, with no entry left (Redis keeps it after XDEL). */
async function lastIdIs(r: RawRedis, keys: QueueKeys, id: string): Promise<void> {
  await r.sendCommand(["XADD", keys.stream, id, "x", "y"]);
  await r.sendCommand(["XDEL", keys.stream, id]);
}

async function entryIds(r: RawRedis, keys: QueueKeys): Promise<string[]> {
  const entries = (await r.sendCommand(["XRANGE", keys.stream, "-", "+"])) as [string][];
  return entries.map(([id]) => id);
}

/** Finishes every entry pending or new, as one worker batch; the stream is left empty. */
async function finishAll(r: RawRedis, keys: QueueKeys): Promise<number[]> {
  const taken = await take(r, keys, "w1", 100);
  const items = taken.map(([entryId, f]) => {
    const i = f.indexOf("i");
    const jobId = i >= 0 ? f[i + 1]! : entryId;
    return {
      ...{ entryId, jobId, hasRecord: i >= 0, runMs: 1, attempt: 1, maxAttempts: 3 },
      ...{ enqueuedAt: null, worker: "w1", task: "t", payload: "{}", result: "1" },
    };
  });
  const W = { consumer: "w1", resultTtlS: 600, eventsMaxLen: 1000 };
  return (await finishItems(asClient(r), keys, W, items)).codes;
}

describe("huge stream ids", () => {
  test.each([
    [
      "a seq past 1e14 (Lua prints 1e+14)",
      "4102444800000-99999999999998",
      ["4102444800000-99999999999999", "4102444800000-100000000000000"],
    ],
    [
      "a seq just short of 2^53 (counted as a Number)",
      "4102444800000-9007199254740987",
      ["4102444800000-9007199254740988", "4102444800000-9007199254740989"],
    ],
    [
      "a seq past 2^53",
      "4102444800000-9007199254740992",
      ["4102444800000-9007199254740993", "4102444800000-9007199254740994"],
    ],
    [
      "a seq at its maximum moves on to the next ms",
      `4102444800000-${BigInt(MAX) - 1n}`,
      [`4102444800000-${MAX}`, "4102444800001-0"],
    ],
  ])("%s: enqueue makes exact ids; finish records and trims them", async (_, last, want) => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await lastIdIs(r, keys, last);
    const out = await enqueue(r, keys, [
      ...jobs(1),
      { id: "given-1", task: "t", payload: "1", maxAttempts: 3 },
      ...jobs(1),
    ]);
    const third = out[2]!.id;
    expect(out.map((e) => e.entryId)).toEqual([...want, third]);
    expect(await entryIds(r, keys)).toEqual([...want, third]);
    expect(await r.sendCommand(["HGET", keys.record("given-1"), "e"])).toBe(want[1]!);
    expect(await r.sendCommand(["HGET", keys.stats, "enqueued"])).toBe("3");
    expect(await finishAll(r, keys)).toEqual([1, 1, 1]);
    expect(await pendingCount(r, keys)).toBe(0);
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(0);
    expect(await r.sendCommand(["EXISTS", keys.result(want[0]!), keys.result("given-1")])).toBe(2);
  });

  test("a finish behind a running job past 1e14 deletes its entry (ids compared as text)", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await lastIdIs(r, keys, "4102444800000-99999999999998");
    await enqueue(r, keys, jobs(2));
    const [running, done] = await take(r, keys, "w1", 2);
    expect([running![0], done![0]]).toEqual([
      "4102444800000-99999999999999",
      "4102444800000-100000000000000",
    ]);
    const W = { consumer: "w1", resultTtlS: 600, eventsMaxLen: 1000 };
    const item = { entryId: done![0], jobId: done![0], hasRecord: false, runMs: 1, attempt: 1 };
    const rest = { maxAttempts: 3, enqueuedAt: null, worker: "w1", task: "t", payload: "{}" };
    await finishItems(asClient(r), keys, W, [{ ...item, ...rest, result: "1" }]);
    expect(await entryIds(r, keys)).toEqual([running![0]]);
  });

  test("the last ids a stream can hold: a batch that fits takes them exactly", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await lastIdIs(r, keys, `${MAX}-${BigInt(MAX) - 2n}`);
    const out = await enqueue(r, keys, jobs(2));
    const want = [`${MAX}-${BigInt(MAX) - 1n}`, `${MAX}-${MAX}`];
    expect(out.map((e) => e.id)).toEqual(want);
    expect(await finishAll(r, keys)).toEqual([1, 1]);
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(0);
  });

  test.each([
    ["at its last id", `${MAX}-${MAX}`, [{ task: "t", payload: "1", maxAttempts: 3 }]],
    ["with room for 2 ids, a batch of 3", `${MAX}-${BigInt(MAX) - 2n}`, jobs(3)],
    [
      "a delayed job and a caller id first",
      `${MAX}-${MAX}`,
      [
        { id: "later-1", task: "t", payload: "1", maxAttempts: 3, delayMs: 60_000 },
        { id: "given-1", task: "t", payload: "1", maxAttempts: 3 },
        ...jobs(1),
      ],
    ],
  ])("a stream %s refuses the batch whole: nothing written", async (_, last, batch) => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await lastIdIs(r, keys, last);
    const prepared = prepareBatch(batch);
    const err = await enqueueJobs(asClient(r), keys, prepared).catch((e: unknown) => e);
    expect((err as Error).message).toContain("has no ids left");
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(0);
    expect(await r.sendCommand(["EXISTS", keys.receipt(prepared.batchId), keys.stats])).toBe(0);
    expect(await r.sendCommand(["EXISTS", keys.record("later-1"), keys.record("given-1")])).toBe(0);
    expect(await r.sendCommand(["EXISTS", keys.delayed, keys.meta])).toBe(0);
  });

  test("trigger on a stream with no ids left: exit 6, one line, nothing enqueued", async () => {
    const prefix = testPrefix();
    const keys = queueKeys(prefix, "default");
    await using r = await rawRedis();
    await lastIdIs(r, keys, `${MAX}-${MAX}`);
    const urls = "http://127.0.0.1:9/a\nhttp://127.0.0.1:9/b\n";
    const res = await runCli("trigger", ["--prefix", prefix, "--file", "-"], { stdin: urls });
    expect(res.code).toBe(6);
    expect(STACK_FRAME.test(res.stderr)).toBe(false);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).toContain("has no ids left");
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(0);
    expect(await r.sendCommand(["HGET", keys.stats, "enqueued"])).toBeNull();
  });
});

describe("attempt and run counts past 1e14", () => {
  test("a retry writes them whole into the record's history (never 1e+14)", async () => {
    await using v = await engineQueue();
    const big = 99_999_999_999_999; // the largest 14-digit count: its next is 1e14
    const entry = await plant(v, { t: "echo", p: "{}", a: big, m: big * 9, n: big });
    await deliver(v, "w1");
    const opts = { consumer: "w1", failureTtlS: 600, deadMaxLen: 1000, eventsMaxLen: 1000 };
    const attempt = failedAttempt(entry, { runNo: big + 1, retryInMs: 60_000 });
    expect(await failJobs(v.client, v.k, opts, [attempt])).toEqual(["retrying"]);
    const record = await hgetall(v, v.k.record(entry));
    expect(record["h:100000000000000"]).toStartWith("100000000000000 ");
    expect(record["h:100000000000000:e"]).toMatch(/^\d+ retrying$/);
    expect(Object.keys(record).filter((f) => f.includes("e+"))).toEqual([]);
  });
});
