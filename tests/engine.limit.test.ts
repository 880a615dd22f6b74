// The limiter's scripts through their typed functions (docs/internals.md, "Rate limits"):
// limit.lua (slots, spacing, reservations, horizon, key concurrency and rate, holds, gaps),
// limit-done.lua (running slots freed, waiters woken in order), hold.lua (a slot given away
// without spending an attempt) and wake.lua, against the real Redis of tests/preload.ts.
import { describe, expect, test } from "bun:test";
import { enqueueJobs, prepareBatch } from "../lib/engine/enqueue.ts";
import { parseEntry } from "../lib/engine/entry.ts";
import { failJobs } from "../lib/engine/fail.ts";
import { readHeldKeys } from "../lib/engine/held-keys.ts";
import { holdEntries, wakeJobs } from "../lib/engine/hold.ts";
import { holdKey } from "../lib/engine/hold-key.ts";
import { levelKeys, limitKeys } from "../lib/engine/keys.ts";
import { freeSlots, type LimitAsk, type LimitVerdict, reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { promoteDue } from "../lib/engine/promote.ts";
import { releaseAll } from "../lib/engine/release.ts";
import { requeueLetters } from "../lib/engine/requeue.ts";
import { readStatuses } from "../lib/engine/status.ts";
import {
  deliver,
  type EngineQueue,
  engineQueue,
  hgetall,
  redisNow,
  streamEntries,
} from "./fixtures/plant.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));

function names(v: EngineQueue) {
  return { prefix: PREFIX_OF(v), queue: "q", lk: limitKeys(PREFIX_OF(v), "q") };
}

async function limited(v: EngineQueue, change: Parameters<typeof writeLimits>[3]) {
  const n = names(v);
  await writeLimits(v.client, n.prefix, n.queue, change);
  return n.lk;
}

const ask = (jobId: string, limitKey?: string): LimitAsk => ({
  jobId,
  slotMs: 60_000,
  ...(limitKey && { limitKey }),
});

function starts(verdicts: LimitVerdict[]): number[] {
  return verdicts.map((v) => (v.kind === "start" ? v.inMs : Number.NaN));
}

/** At most `n` of `times` in any window [t, t + perMs) (a sliding window over every start). */
function mostInWindow(times: readonly number[], perMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= perMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe("limit.lua: the queue-wide rate", () => {
  test("slots are spaced (interval + late) / N: no burst, and any window of one interval holds at most N starts even with each start up to `late` ms behind its slot", async () => {
    await using v = await engineQueue();
    const lk = await limited(v, { rate: { count: 10, perMs: 1000 } });
    const o = { horizonMs: 5000, shard: 0 };
    const got = await reserveSlots(
      v.client,
      lk,
      o,
      Array.from({ length: 30 }, (_, i) => ask(`j${i}`)),
    );
    const at = starts(got);
    // late = min(20, 1000 / 20) = 20 ms, spacing (1000 + 20) / 10 = 102 ms.
    expect(got[0]).toEqual({ kind: "start", inMs: 0, lateMs: 20, slot: false });
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeCloseTo(102, 3);
    expect(mostInWindow(at, 1000)).toBe(10);
    // A start may be up to `late` ms behind its slot: the first late, the 11th on time is the
    // worst case for a window opening at the first. Any pattern of lateness keeps N.
    for (const lateOf of [(i: number) => (i === 0 ? 20 : 0), (i: number) => (i % 2 ? 20 : 0)]) {
      expect(
        mostInWindow(
          at.map((t, i) => t + lateOf(i)),
          1000,
        ),
      ).toBeLessThanOrEqual(10);
      // Spaced interval / N instead, the same late starts put 11 in a window.
      const naive = at.map((_, i) => i * 100 + lateOf(i));
      expect(mostInWindow(naive, 1000)).toBe(lateOf(0) ? 11 : 10);
    }
  });

  test("reservations carry on across calls (a backlog is served at the rate without re-checking), up to the horizon, then `later`", async () => {
    await using v = await engineQueue();
    const lk = await limited(v, { rate: { count: 100, perMs: 1000 } });
    const o = { horizonMs: 100, shard: 0 };
    const first = starts(await reserveSlots(v.client, lk, o, [ask("a"), ask("b")]));
    const second = await reserveSlots(v.client, lk, o, [
      ask("c"),
      ask("d"),
      ask("e"),
      ask("f"),
      ask("g"),
      ask("h"),
      ask("i"),
      ask("j"),
      ask("k"),
      ask("l"),
    ]);
    // spacing (1000 + 20) / 100 = 10.2 ms: c is the third slot whatever time passed meanwhile.
    expect(first[1]).toBeCloseTo(10.2, 3);
    expect(second[0]!.kind).toBe("start");
    const kinds = second.map((x) => x.kind);
    expect(kinds).toContain("later");
    // Past the horizon nothing is reserved: the later ones ask again.
    const later = second.find((x) => x.kind === "later")!;
    expect(later.kind === "later" && later.inMs).toBeGreaterThan(0);
    const lastStart = Math.max(...starts(second).filter((x) => !Number.isNaN(x)));
    expect(lastStart).toBeLessThanOrEqual(100);
  });

  test("no limit: every job starts at once with no lateness bound", async () => {
    await using v = await engineQueue();
    const { lk } = names(v);
    const got = await reserveSlots(v.client, lk, { horizonMs: 1000, shard: 0 }, [ask("a", "h")]);
    expect(got).toEqual([{ kind: "start", inMs: 0, lateMs: null, slot: false }]);
  });
});

describe("limit.lua: per key", () => {
  test("key concurrency: C running, the next waits (busy) in order; freed slots wake waiters in order; a woken job that lost the race keeps its place", async () => {
    await using v = await engineQueue();
    const lk = await limited(v, { keyConcurrency: 2 });
    // Shard 3 of a queue of 4 (its layout says so: a waiter of a shard past it names no job).
    await v.r.sendCommand(["HSET", lk.layout, "shards", "4"]);
    const o = { horizonMs: 1000, shard: 3 };
    const got = await reserveSlots(v.client, lk, o, [
      ask("a", "h"),
      ask("b", "h"),
      ask("c", "h"),
      ask("d", "h"),
      ask("x", "other"),
    ]);
    expect(got.map((g) => g.kind)).toEqual(["start", "start", "hold", "hold", "start"]);
    // The key's jobs took running slots (freed when they end); the other key's too.
    expect(got.map((g) => g.kind === "start" && g.slot)).toEqual([true, true, false, false, true]);
    expect(got[2]).toMatchObject({ kind: "hold", why: "busy" });
    // Its fallback: when the first running slot frees itself (60 s from now).
    const now = await redisNow(v);
    expect((got[2] as { dueMs: number }).dueMs).toBeGreaterThan(now + 50_000);
    expect(await freeSlots(v.client, lk, [{ jobId: "a", limitKey: "h" }])).toEqual([
      { shard: 3, jobId: "c", limitKey: "h" },
    ]);
    // A fresh job takes the free slot before c comes back: c waits again, still first.
    expect((await reserveSlots(v.client, lk, o, [ask("e", "h")]))[0]!.kind).toBe("start");
    expect((await reserveSlots(v.client, lk, o, [ask("c", "h")]))[0]!.kind).toBe("hold");
    expect(await freeSlots(v.client, lk, [{ jobId: "b", limitKey: "h" }])).toEqual([
      { shard: 3, jobId: "c", limitKey: "h" },
    ]);
    expect((await reserveSlots(v.client, lk, o, [ask("c", "h")]))[0]!.kind).toBe("start");
    expect(await freeSlots(v.client, lk, [{ jobId: "e", limitKey: "h" }])).toEqual([
      { shard: 3, jobId: "d", limitKey: "h" },
    ]);
    // Another key: a long slot, then a short one; its set lives past the long one.
    const long = { jobId: "long", limitKey: "g", slotMs: 120_000 };
    const brief = { jobId: "brief", limitKey: "g", slotMs: 10 };
    const both = await reserveSlots(v.client, lk, o, [long, brief]);
    expect(both.map((x) => x.kind)).toEqual(["start", "start"]);
    expect(Number(await v.r.sendCommand(["PTTL", lk.running("g")]))).toBeGreaterThan(120_000);
  });

  test("a dead worker's running slot frees itself after its time (the slot's expiry)", async () => {
    await using v = await engineQueue();
    const lk = await limited(v, { keyConcurrency: 1 });
    const o = { horizonMs: 1000, shard: 0 };
    const dead = { jobId: "dead", limitKey: "h", slotMs: 60_000 };
    expect((await reserveSlots(v.client, lk, o, [dead]))[0]!.kind).toBe("start");
    expect((await reserveSlots(v.client, lk, o, [ask("next", "h")]))[0]!.kind).toBe("hold");
    // Its time is up (its score, the slot's end on Redis' clock, moved into the past, rather than
    // a short slot slept past: a loaded machine could pass a short one before the hold above).
    const running = lk.running("h");
    const slots = (await v.r.sendCommand(["ZRANGE", running, "0", "-1"])) as string[];
    expect(slots).toHaveLength(1);
    await v.r.sendCommand(["ZADD", running, "XX", "1", slots[0]!]);
    expect((await reserveSlots(v.client, lk, o, [ask("next", "h")]))[0]!.kind).toBe("start");
  });

  test("key rate: slots per key within the horizon, past it held one spacing apart; other keys unaffected", async () => {
    await using v = await engineQueue();
    const lk = await limited(v, { keyRate: { count: 5, perMs: 1000 } });
    const o = { horizonMs: 500, shard: 0 };
    const jobs = [
      ask("a", "h"),
      ask("b", "h"),
      ask("c", "h"),
      ask("d", "h"),
      ask("e", "h"),
      ask("z", "fast"),
    ];
    const got = await reserveSlots(v.client, lk, o, jobs);
    // spacing (1000 + 20) / 5 = 204 ms: 0, 204, 408 within 500; d and e held.
    expect(starts(got.slice(0, 3))).toEqual([0, 204, 408]);
    expect(got[3]).toMatchObject({ kind: "hold", why: "rate" });
    expect(got[4]).toMatchObject({ kind: "hold", why: "rate" });
    const [d, e] = [got[3] as { dueMs: number }, got[4] as { dueMs: number }];
    expect(e.dueMs - d.dueMs).toBe(204);
    // Another key has slots of its own.
    expect(got[5]).toEqual({ kind: "start", inMs: 0, lateMs: 20, slot: false });
    // The held key is listed with its next slot (what info and the dashboard read).
    const held = await readHeldKeys(v.client, lk, await redisNow(v));
    expect(held).toEqual([{ key: "h", nextMs: expect.any(Number), running: 0, retryAfter: false }]);
    expect(held[0]!.nextMs).toBeGreaterThan(await redisNow(v));
  });

  test("a key's job whose key slot is later than the queue's next slot leaves the skipped queue slots to other jobs (gaps)", async () => {
    await using v = await engineQueue();
    const lk = await limited(v, {
      rate: { count: 100, perMs: 1000 },
      keyRate: { count: 5, perMs: 1000 },
    });
    const o = { horizonMs: 1000, shard: 0 };
    const got = starts(
      await reserveSlots(v.client, lk, o, [
        ask("h1", "h"),
        ask("h2", "h"),
        ask("x1"),
        ask("x2"),
        ask("x3"),
      ]),
    );
    // h1 at 0, h2 at 204 (its key), x1..x3 in the queue slots between: 10.2, 20.4, 30.6.
    expect(got[0]).toBe(0);
    expect(got[1]).toBeCloseTo(204, 3);
    expect(got[2]).toBeCloseTo(10.2, 3);
    expect(got[3]).toBeCloseTo(20.4, 3);
    expect(got[4]).toBeCloseTo(30.6, 3);
    // Every two queue slots at least the spacing apart.
    const sorted = [...got].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++)
      expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(10.2 - 1e-6);
  });

  test("holdKey: the key's jobs are held until the hold ends; a shorter hold changes nothing", async () => {
    await using v = await engineQueue();
    const { lk } = names(v);
    const end = await holdKey(v.client, lk, "h", 5_000);
    expect(await holdKey(v.client, lk, "h", 10)).toBe(end);
    const got = await reserveSlots(v.client, lk, { horizonMs: 1000, shard: 0 }, [
      ask("a", "h"),
      ask("b", "g"),
    ]);
    expect(got[0]).toEqual({ kind: "hold", dueMs: end, why: "held" });
    expect(got[1]!.kind).toBe("start");
    expect(await v.r.sendCommand(["HGET", lk.layout, "holds"])).toBe(String(end));
  });
});

describe("enqueue.lua and the limit key", () => {
  test("a batch with keyed jobs sends the key's field (7 per job): entries and records carry `k` only where set; a batch without sends 6", async () => {
    await using v = await engineQueue();
    const batch = prepareBatch([
      { task: "t", payload: "1", maxAttempts: 3, limitKey: "a.example" },
      { task: "t", payload: "2", maxAttempts: 3 },
      { task: "t", payload: "3", maxAttempts: 3, limitKey: "b.example", delayMs: 60_000 },
    ]);
    const jobs = await enqueueJobs(v.client, v.k, batch);
    const entries = await streamEntries(v);
    expect(entries.map((e) => e.f.k)).toEqual(["a.example", undefined]);
    expect((await hgetall(v, v.k.record(jobs[2]!.id))).k).toBe("b.example");
    const plain = prepareBatch([{ task: "t", payload: "4", maxAttempts: 3 }]);
    await enqueueJobs(v.client, v.k, plain);
    expect((await streamEntries(v))[2]!.f).toEqual({ t: "t", p: "4", a: "0", m: "3" });
  });
});

describe("hold.lua and wake.lua", () => {
  test("a held job spends no attempt, keeps its limit key, and comes back when due", async () => {
    await using v = await engineQueue();
    await v.r.sendCommand([
      "XADD",
      v.k.stream,
      "*",
      "t",
      "echo",
      "p",
      "1",
      "a",
      "1",
      "m",
      "3",
      "k",
      "h",
    ]);
    const [entry] = await deliver(v, "w1");
    const now = await redisNow(v);
    expect(await holdEntries(v.client, v.k, "w1", [{ entryId: entry!, dueMs: now + 50 }])).toEqual([
      "held",
    ]);
    expect(await streamEntries(v)).toEqual([]);
    const rec = await hgetall(v, v.k.record(entry!));
    expect(rec).toMatchObject({ a: "1", n: "0", k: "h", status: "queued", limit_holds: "1" });
    expect(Object.keys(rec).some((f) => f.startsWith("h:"))).toBe(false); // no run written
    const [status] = await readStatuses(v.client, v.k, [entry!]);
    expect(status).toMatchObject({
      status: "queued",
      attempts: 1,
      note: 'held back by a rate limit (key "h")',
    });
    expect(status?.runAt).toBe(now + 50);
    await Bun.sleep(60);
    expect(await promoteDue(v.client, v.k)).toBe(1);
    const [back] = await streamEntries(v);
    expect(back!.f).toMatchObject({ a: "1", k: "h", i: entry });
    const parsed = parseEntry(back!.id, Object.entries(back!.f).flat());
    expect(parsed.ok && parsed.job.limitKey).toBe("h");
  });

  test("a held job waits on a record without a TTL (a claim's record had one): it cannot expire under it", async () => {
    await using v = await engineQueue();
    const fields = ["t", "echo", "p", "1", "a", "0", "m", "3", "i", "job-ttl", "k", "h"];
    await v.r.sendCommand(["XADD", v.k.stream, "*", ...fields]);
    await v.r.sendCommand(["HSET", v.k.record("job-ttl"), "status", "queued"]);
    await v.r.sendCommand(["EXPIRE", v.k.record("job-ttl"), "100"]);
    const [entry] = await deliver(v, "w1");
    const far = (await redisNow(v)) + 60_000;
    expect(await holdEntries(v.client, v.k, "w1", [{ entryId: entry!, dueMs: far }])).toEqual([
      "held",
    ]);
    expect(await v.r.sendCommand(["PTTL", v.k.record("job-ttl")])).toBe(-1);
    expect(await v.r.sendCommand(["ZSCORE", v.k.delayed, "job-ttl"])).toBe(String(far));
  });

  test("wake moves a waiting job to its stream now; a job not yet held is marked and its hold sends it back at once", async () => {
    await using v = await engineQueue();
    await v.r.sendCommand([
      "XADD",
      v.k.stream,
      "*",
      "t",
      "echo",
      "p",
      "1",
      "a",
      "0",
      "m",
      "3",
      "i",
      "job-a",
      "k",
      "h",
    ]);
    await v.r.sendCommand([
      "XADD",
      v.k.stream,
      "*",
      "t",
      "echo",
      "p",
      "2",
      "a",
      "0",
      "m",
      "3",
      "i",
      "job-b",
      "k",
      "h",
    ]);
    const [ea, eb] = await deliver(v, "w1");
    const far = (await redisNow(v)) + 600_000;
    expect(await holdEntries(v.client, v.k, "w1", [{ entryId: ea!, dueMs: far }])).toEqual([
      "held",
    ]);
    expect(await wakeJobs(v.client, v.k, ["job-a", "job-b"])).toEqual({ moved: 1, ended: [] });
    const added = async () => (await streamEntries(v)).filter((e) => e.id !== eb).map((e) => e.f.i);
    expect(await added()).toEqual(["job-a"]);
    // job-b was woken before its hold: the hold re-adds it at once.
    expect(await holdEntries(v.client, v.k, "w1", [{ entryId: eb!, dueMs: far }])).toEqual([
      "back",
    ]);
    expect(await added()).toEqual(["job-a", "job-b"]);
    expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(0);
  });

  test("a dead letter keeps the limit key, and a requeue brings the job back with it", async () => {
    await using v = await engineQueue();
    const f = ["t", "echo", "p", "1", "a", "2", "m", "3", "k", "host.example"];
    const entry = String(await v.r.sendCommand(["XADD", v.k.stream, "*", ...f]));
    await deliver(v, "w1");
    const opts = { consumer: "w1", failureTtlS: 600, deadMaxLen: 1000, eventsMaxLen: 1000 };
    const failed = { entry, id: null, hasRecord: false, runNo: 1, runMs: 7, retryInMs: null };
    await failJobs(v.client, v.k, opts, [{ ...failed, error: "broke" }]);
    const [[letter, fields]] = await v.r.sendCommand(["XRANGE", v.k.dead, "-", "+"]);
    expect(fields).toEqual(expect.arrayContaining(["limit_key", "host.example"]));
    // The failed value and record gone: the job is made again from the letter alone.
    await v.r.sendCommand(["DEL", v.k.resultPrefix + entry]);
    await requeueLetters(v.client, v.k, [{ letter, id: null }], 3);
    const back = (await streamEntries(v)).find((e) => e.id !== entry)!;
    expect(back.f).toMatchObject({ a: "0", i: entry, k: "host.example" });
  });

  test("a high job is held in, and woken from, its own level's delayed set to its level's stream", async () => {
    await using v = await engineQueue();
    const high = levelKeys(v.k, "high");
    await v.r.sendCommand(["XGROUP", "CREATE", high.stream, "workers", "0", "MKSTREAM"]);
    await v.r.sendCommand(["HSET", v.k.record("job-h"), "priority", "high", "q", "1"]);
    const f = ["t", "echo", "p", "1", "a", "0", "m", "3", "i", "job-h", "k", "h"];
    const entry = String(await v.r.sendCommand(["XADD", high.stream, "*", ...f]));
    await v.r.sendCommand([
      "XREADGROUP",
      "GROUP",
      "workers",
      "w1",
      "COUNT",
      "10",
      "STREAMS",
      high.stream,
      ">",
    ]);
    const far = (await redisNow(v)) + 600_000;
    expect(await holdEntries(v.client, high, "w1", [{ entryId: entry, dueMs: far }])).toEqual([
      "held",
    ]);
    expect(await v.r.sendCommand(["ZRANGE", high.delayed, "0", "-1"])).toEqual(["job-h"]);
    expect(await wakeJobs(v.client, v.k, ["job-h"])).toEqual({ moved: 1, ended: [] });
    const rows = (await v.r.sendCommand(["XRANGE", high.stream, "-", "+"])) as [string, string[]][];
    expect(rows.map(([, fl]) => fl[fl.indexOf("i") + 1])).toEqual(["job-h"]);
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(0);
  });

  test("release keeps the limit key (k) of the entries it re-adds", async () => {
    await using v = await engineQueue();
    await v.r.sendCommand([
      "XADD",
      v.k.stream,
      "*",
      "t",
      "echo",
      "p",
      "1",
      "a",
      "0",
      "m",
      "3",
      "k",
      "host.example",
    ]);
    await deliver(v, "w1");
    expect(await releaseAll(v.client, v.k, "w1")).toBe(1);
    expect((await streamEntries(v))[0]!.f.k).toBe("host.example");
  });
});
