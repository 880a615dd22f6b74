// The common enqueue in one small call (lib/engine/enqueue-plain.ts, enqueue-one.lua): one
// auto-id job, due now, at the normal level, from a Queue on one server with no retry window,
// to a shard where enqueue.lua created a job less than PLAIN_RECHECK_MS ago, is its cursor
// read, XADD and count; anything else goes by enqueue.lua (a cluster's every job), and so does
// every refusal.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PLAIN_RECHECK_MS } from "../lib/config.ts";
import { prepareBatch } from "../lib/engine/enqueue.ts";
import { enqueuePlain } from "../lib/engine/enqueue-plain.ts";
import type { QueueKeys } from "../lib/engine/keys.ts";
import { RedisFullError } from "../lib/errors.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import {
  commandCalls,
  onOneServer,
  openQueue,
  pinShards,
  type RawRedis,
  rawRedis,
  testPrefix,
} from "./helpers.ts";

// The tests read and plant one shard's own keys (q.keys): one shard, on a cluster one slot.
pinShards(1);

type Entry = [string, string[]];

// A Redis of its own for the full-Redis case (maxmemory is the server's).
let dir = "";
let full: RedisServer | undefined;
beforeAll(async () => {
  if (!onOneServer) return;
  dir = mkdtempSync(join(tmpdir(), "courier-plain-"));
  full = await startRedisServer({ persistence: false, port: await findFreePort(), dataDir: dir });
});
afterAll(async () => {
  await full?.stop(2_000);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * The enqueue.lua calls Redis ran (its type checks: enqueue-one.lua has none; no test here
 * sends a TYPE of its own) and the entries it added while `fn` ran, on q's node.
 */
async function counted(r: RawRedis, q: Queue, fn: () => Promise<unknown>) {
  const near = q.keys.stream;
  const [scripts, adds] = [
    await commandCalls(r, "type", near),
    await commandCalls(r, "xadd", near),
  ];
  await fn();
  return {
    scripts: Math.sign((await commandCalls(r, "type", near)) - scripts),
    adds: (await commandCalls(r, "xadd", near)) - adds,
  };
}

/** `fn` run with this host's monotonic clock `ms` ahead (the producer's plain-job window). */
async function later<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const now = performance.now.bind(performance);
  performance.now = () => now() + ms;
  try {
    return await fn();
  } finally {
    performance.now = now;
  }
}

const enqueued = async (r: RawRedis, k: QueueKeys) =>
  Number((await r.sendCommand(["HGET", k.stats, "enqueued"])) ?? 0);

test.if(!onOneServer)("on a cluster every job goes by the script (its one call)", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  await q.enqueue("t", 0);
  expect((await counted(r, q, () => q.enqueue("t", 1))).scripts).toBe(1);
});

describe.if(onOneServer)("a plain job", () => {
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
    expect(await r.sendCommand(["GET", q.keys.stream])).toBe("someone else's");
    expect(await enqueued(r, q.keys)).toBe(1);
    // The next go by the script, which refuses before any write.
    for (const n of [2, 3]) {
      const reads = await commandCalls(r, "xrevrange", q.keys.stream);
      const again = await counted(r, q, () => q.enqueue("t", n).catch(() => {}));
      expect(again.scripts).toBe(1);
      // No plain try first (its cursor read): enqueue.lua alone.
      expect(await commandCalls(r, "xrevrange", q.keys.stream)).toBe(reads);
    }
    expect(await enqueued(r, q.keys)).toBe(1);
  });

  test("after Redis lost the queue (emptied, restarted without its data): the script writes its format again", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    await q.enqueue("t", 0);
    await r.sendCommand(["DEL", q.keys.stream, q.keys.meta, q.keys.stats]);
    const back = await counted(r, q, () => q.enqueue("t", 1));
    expect(back.scripts).toBe(1);
    expect(await r.sendCommand(["HEXISTS", q.keys.meta, "format"])).toBe(1);
    expect(await r.sendCommand(["XLEN", q.keys.stream])).toBe(1);
    expect(await enqueued(r, q.keys)).toBe(1);
    // Its format written again: plain once more.
    expect((await counted(r, q, () => q.enqueue("t", 2))).scripts).toBe(0);
    expect(await enqueued(r, q.keys)).toBe(2);
  });

  test("after the queue was made again with other shards: the job goes to those, by the script at the latest once it checks again", async () => {
    const prefix = testPrefix();
    // No `shards`: the queue's count, whatever it is (a `shards` it contradicts is refused).
    await using q = await openQueue({ prefix, shards: undefined });
    await using r = await rawRedis();
    const keys = q.keys;
    await q.enqueue("t", 0);
    // Lost and made again by another process with 4 shards (its layout key is this meta): no
    // stream, so the job goes by the script, which refuses it; the layout is read again.
    await r.sendCommand(["DEL", keys.stream, keys.meta, keys.stats]);
    await r.sendCommand(["HSET", keys.meta, "shards", "4"]);
    expect(await q.enqueue("t", 1)).toMatch(/:[0-3]$/);
    expect(q.shards).toBe(4);
    expect(await r.sendCommand(["EXISTS", keys.stream])).toBe(0);
  });

  test("made again with other shards while its stream was still there: the job goes to those once the script checks again", async () => {
    const prefix = testPrefix();
    // No `shards`: the queue's count, whatever it is (a `shards` it contradicts is refused).
    await using q = await openQueue({ prefix, shards: undefined });
    await using r = await rawRedis();
    const keys = q.keys;
    await q.enqueue("t", 0);
    await q.enqueue("t", 1); // by enqueue-one.lua
    // The meta replaced by hand with a 4-shard layout: refused once the script checks again
    // (PLAIN_RECHECK_MS), nothing added to the one-shard stream then.
    await r.sendCommand(["DEL", keys.meta]);
    await r.sendCommand(["HSET", keys.meta, "shards", "4"]);
    const length = await r.sendCommand(["XLEN", keys.stream]);
    const id = await later(PLAIN_RECHECK_MS, () => q.enqueue("t", 3));
    expect(id).toMatch(/:[0-3]$/);
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(length);
  });

  test("meta of another type after connect: refused as the script refuses it once it checks again", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    await q.enqueue("t", 0);
    await r.sendCommand(["DEL", q.keys.meta]);
    await r.sendCommand(["SET", q.keys.meta, "someone else's"]);
    for (const n of [1, 2]) {
      const err = await later(PLAIN_RECHECK_MS, () => q.enqueue("t", n).catch((e: unknown) => e));
      expect(String(err)).toContain(`key ${q.keys.meta} holds a string`);
    }
    expect(await r.sendCommand(["XLEN", q.keys.stream])).toBe(1);
    expect(await enqueued(r, q.keys)).toBe(1);
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

  test("on a full Redis: refused whole (RedisFullError), nothing added or counted", async () => {
    const url = full!.url;
    await using q = await openQueue({ prefix: testPrefix(), redisUrl: url });
    const admin = await connect(url);
    try {
      await q.enqueue("t", 0);
      await admin.sendCommand(["CONFIG", "SET", "maxmemory", "1"]);
      for (const n of [1, 2]) {
        expect(await q.enqueue("t", n).catch((e: unknown) => e)).toBeInstanceOf(RedisFullError);
      }
      await admin.sendCommand(["CONFIG", "SET", "maxmemory", "0"]);
      expect(await admin.sendCommand(["XLEN", q.keys.stream])).toBe(1);
      expect(await admin.sendCommand(["HGET", q.keys.stats, "enqueued"])).toBe("1");
      // Room again: plain, counted.
      await q.enqueue("t", 3);
      expect(await admin.sendCommand(["HGET", q.keys.stats, "enqueued"])).toBe("2");
    } finally {
      admin.destroy();
    }
  });

  test("its events cursor is the events' last id before its entry, as the script's", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    await q.enqueue("t", 0); // the format written: the next is plain
    const job = prepareBatch([{ task: "t", payload: "1", maxAttempts: 1 }]).jobs[0]!;
    const client = r as unknown as Redis;
    const script = { script: () => Promise.reject(new Error("script")), off: () => {} };
    // No events yet: from the start.
    const first = await enqueuePlain(client, q.keys, job, script);
    expect(first.eventsCursor).toBe("0-0");
    // The job's entry late in a millisecond (sequence 5), and an event before the enqueue:
    // the cursor is that event (an event of the job, first in the events stream's next
    // millisecond, comes after it), not the entry's id or its millisecond.
    const ms = String(Date.now() + 60_000);
    for (let s = 0; s < 5; s++)
      await r.sendCommand(["XADD", q.keys.stream, `${ms}-${s}`, "x", "1"]);
    const before = `${Number(ms) - 1}-3`;
    await r.sendCommand(["XADD", q.keys.events, before, "type", "finished", "ids", "x"]);
    const reply = await enqueuePlain(client, q.keys, job, script);
    expect(reply.jobs[0]!.entryId).toBe(`${ms}-5`);
    expect(reply.eventsCursor).toBe(before);
    // The events key of another type: no cursor (the wait looks first), the job enqueued.
    await r.sendCommand(["DEL", q.keys.events]);
    await r.sendCommand(["SET", q.keys.events, "x"]);
    const blind = await enqueuePlain(client, q.keys, job, script);
    expect(blind.eventsCursor).toBeNull();
    expect(blind.jobs[0]!.created).toBe(true);
  });
});
