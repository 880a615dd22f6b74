// The common enqueue without a script (lib/engine/enqueue-plain.ts): one auto-id job, due now,
// at the normal level, from a Queue with no retry window, to a queue whose format it knows
// written, is its XADD and its count's HINCRBY; anything else goes by enqueue.lua, and so does
// every refusal.
import { describe, expect, test } from "bun:test";
import { prepareBatch } from "../lib/engine/enqueue.ts";
import { cursorBefore, enqueuePlain } from "../lib/engine/enqueue-plain.ts";
import type { QueueKeys } from "../lib/engine/keys.ts";
import type { Queue } from "../lib/queue/queue.ts";
import type { Redis } from "../lib/redis/connect.ts";
import {
  commandCalls,
  openQueue,
  pinShards,
  type RawRedis,
  rawRedis,
  testPrefix,
} from "./helpers.ts";

// The tests read and plant one shard's own keys (q.keys): one shard, on a cluster one slot.
pinShards(1);

type Entry = [string, string[]];

/** The enqueue scripts Redis ran and the entries it added while `fn` ran, on q's node. */
async function counted(r: RawRedis, q: Queue, fn: () => Promise<unknown>) {
  const near = q.keys.stream;
  const [scripts, adds] = [
    await commandCalls(r, "evalsha", near),
    await commandCalls(r, "xadd", near),
  ];
  await fn();
  return {
    scripts: (await commandCalls(r, "evalsha", near)) - scripts,
    adds: (await commandCalls(r, "xadd", near)) - adds,
  };
}

const enqueued = async (r: RawRedis, k: QueueKeys) =>
  Number((await r.sendCommand(["HGET", k.stats, "enqueued"])) ?? 0);

describe("a plain job", () => {
  test("of a queue with its format goes without the script, its entry as the script writes it", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    // A fresh queue's first job goes by the script: it writes the queue's format.
    const first = await counted(r, q, () => q.enqueue("t", { n: 1 }, { maxAttempts: 2 }));
    expect(first.scripts).toBe(1);
    expect(await r.sendCommand(["HEXISTS", q.keys.meta, "format"])).toBe(1);
    let id = "";
    const next = await counted(r, q, async () => {
      id = await q.enqueue("t", { n: 2 }, { maxAttempts: 2 });
    });
    expect(next).toEqual({ scripts: 0, adds: 1 });
    const entries = (await r.sendCommand(["XRANGE", q.keys.stream, "-", "+"])) as Entry[];
    expect(entries.map(([, f]) => f)).toEqual([
      ["t", "t", "p", '{"n":1}', "a", "0", "m", "2"],
      ["t", "t", "p", '{"n":2}', "a", "0", "m", "2"],
    ]);
    expect(entries[1]![0]).toBe(id);
    expect(await enqueued(r, q.keys)).toBe(2);
    expect(await q.getJob(id)).toMatchObject({ id, status: "queued", payload: { n: 2 } });
  });

  test("a limit key travels in the entry as the script writes it", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    await q.enqueue("t", 1, { limitKey: "acct-1" });
    const plain = await counted(r, q, () => q.enqueue("t", 2, { limitKey: "acct-1" }));
    expect(plain.scripts).toBe(0);
    const entries = (await r.sendCommand(["XRANGE", q.keys.stream, "-", "+"])) as Entry[];
    expect(entries[1]![1]).toEqual(entries[0]![1].map((v) => (v === "1" ? "2" : v)));
    expect(entries[1]![1]).toContain("acct-1");
  });

  test("goes by the script when a retry window may send it twice (its receipt), or when it is not plain", async () => {
    await using r = await rawRedis();
    await using windowed = await openQueue({ prefix: testPrefix(), retryConnectS: 1 });
    await windowed.enqueue("t", 0);
    expect((await counted(r, windowed, () => windowed.enqueue("t", 1))).scripts).toBe(1);
    await using q = await openQueue({ prefix: testPrefix() });
    await q.enqueue("t", 0);
    for (const opts of [{ id: "order-1" }, { delayMs: 60_000 }, { priority: "high" as const }]) {
      expect((await counted(r, q, () => q.enqueue("t", 1, opts))).scripts).toBe(1);
    }
    expect((await counted(r, q, () => q.enqueue("t", 2))).scripts).toBe(0);
  });

  test("refused by Redis (the stream key holds another type): the script's refusal, nothing added or counted", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    await q.enqueue("t", 0);
    await r.sendCommand(["DEL", q.keys.stream]);
    await r.sendCommand(["SET", q.keys.stream, "someone else's"]);
    const err = await q.enqueue("t", 1).catch((e: unknown) => e);
    expect(String(err)).toContain(`key ${q.keys.stream} holds a string`);
    expect(await enqueued(r, q.keys)).toBe(1);
    expect(await r.sendCommand(["GET", q.keys.stream])).toBe("someone else's");
  });

  test("whose count is refused (stats of another type) is enqueued; the next goes by the script, which refuses", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    await q.enqueue("t", 0);
    await r.sendCommand(["DEL", q.keys.stats]);
    await r.sendCommand(["SET", q.keys.stats, "someone else's"]);
    const id = await q.enqueue("t", 1);
    expect(await q.getJob(id)).toMatchObject({ id, status: "queued", payload: 1 });
    const err = await q.enqueue("t", 2).catch((e: unknown) => e);
    expect(String(err)).toContain(`key ${q.keys.stats} holds a string`);
    expect(await r.sendCommand(["XLEN", q.keys.stream])).toBe(2);
  });

  test("its events cursor comes before any event of the job, one of the same millisecond too", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    await q.enqueue("t", 0); // the format written: the next is plain
    // The job's entry late in its millisecond (sequence 5), its event first in the events
    // stream's (sequence 0): an id-only cursor would skip that event.
    const job = prepareBatch([{ task: "t", payload: "1", maxAttempts: 1 }]).jobs[0]!;
    const client = r as unknown as Redis;
    const ms = String(Date.now() + 60_000);
    for (let s = 0; s < 5; s++)
      await r.sendCommand(["XADD", q.keys.stream, `${ms}-${s}`, "x", "1"]);
    const reply = await enqueuePlain(client, q.keys, job, () =>
      Promise.reject(new Error("script")),
    );
    const entry = reply.jobs[0]!.entryId!;
    expect(entry).toBe(`${ms}-5`);
    await r.sendCommand(["XADD", q.keys.events, `${ms}-0`, "type", "finished", "ids", entry]);
    const read = (await r.sendCommand([
      ...["XREAD", "COUNT", "10", "STREAMS", q.keys.events],
      reply.eventsCursor!,
    ])) as [string, Entry[]][] | null;
    expect(read?.[0]?.[1].map(([id]) => id)).toEqual([`${ms}-0`]);
  });
});

describe("cursorBefore", () => {
  test.each([
    ["1700000000123-7", "1700000000122-18446744073709551615"],
    ["1-0", "0-18446744073709551615"],
    ["999999999999999-1", "999999999999998-18446744073709551615"],
    ["1000000000000000-0", "999999999999999-18446744073709551615"],
    ["9007199254740993-0", "9007199254740992-18446744073709551615"],
    ["0-5", "0-0"],
    ["18446744073709551615-3", "18446744073709551614-18446744073709551615"],
    ["not an id", "0-0"],
  ])("%s → %s", (entry, cursor) => {
    expect(cursorBefore(entry)).toBe(cursor);
  });
});
