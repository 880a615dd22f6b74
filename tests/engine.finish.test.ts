// The engine's finish (lib/engine/finish.ts, lua/finish.lua) against a real Redis: one
// SET NX EX per job (first finisher wins), the record's TTL for jobs that have one, per-batch
// event and counters, entries acknowledged and trimmed, results recorded on a full Redis, and
// the next entries taken in the same call.
import { describe, expect, test } from "bun:test";
import { claimLapsed } from "../lib/engine/claim.ts";
import { enqueueJobs, prepareBatch } from "../lib/engine/enqueue.ts";
import { parseEntry } from "../lib/engine/entry.ts";
import type { TakenEntry } from "../lib/engine/finish.ts";
import { finishRuns } from "../lib/engine/finish.ts";
import { type QueueKeys, queueKeys } from "../lib/engine/keys.ts";
import { parseOutcome } from "../lib/engine/outcome.ts";
import { connect } from "../lib/redis/connect.ts";
import {
  asClient,
  enqueue,
  freshQueue,
  jobs,
  pendingCount,
  redisTime,
  take,
} from "./fixtures/engine.ts";
import { type FinishItem, finishItems } from "./fixtures/finish.ts";
import { deliver, engineQueue, pendingRow, plant } from "./fixtures/plant.ts";
import { startSmallRedis } from "./fixtures/redis-small.ts";
import { type RawRedis, rawRedis, testPrefix } from "./helpers.ts";

const W = { consumer: "w1", resultTtlS: 600, eventsMaxLen: 1000 };

/** What a worker sends for an entry it ran. */
function item([entryId, fields]: TakenEntry, result = '{"ok":true}', runMs = 7): FinishItem {
  const check = parseEntry(entryId, fields);
  if (!check.ok) throw new Error(check.problem);
  const j = check.job;
  return {
    entryId,
    jobId: j.jobId,
    hasRecord: j.hasRecord,
    runMs,
    attempt: j.attemptsBefore + 1,
    maxAttempts: j.maxAttempts,
    enqueuedAt: null,
    worker: W.consumer,
    task: j.task,
    payload: j.payload,
    result,
  };
}

async function ttl(r: RawRedis, key: string): Promise<number> {
  return Number(await r.sendCommand(["TTL", key]));
}

describe("finish", () => {
  test("records each job once, with its TTL, the record's TTL, counters; entries acked and trimmed", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await enqueue(r, keys, [
      ...jobs(2),
      { id: "given-1", task: "t", payload: "9", maxAttempts: 2 },
    ]);
    const taken = await take(r, keys, "w1", 10);
    const before = await redisTime(r);
    const out = await finishItems(
      asClient(r),
      keys,
      { ...W, startedSince: 3 },
      taken.map((e) => item(e)),
    );
    const after = await redisTime(r);
    expect(out).toEqual({ codes: [1, 1, 1], taken: [], noted: 0 });
    const ids = [taken[0]![0], taken[1]![0], "given-1"];
    for (const id of ids) {
      const value = String(await r.sendCommand(["GET", keys.result(id)]));
      const o = parseOutcome(value)!;
      expect(o).toMatchObject({
        status: "finished",
        runMs: 7,
        attempt: 1,
        worker: "w1",
        text: '{"ok":true}',
      });
      expect(o.endedAt).toBeGreaterThanOrEqual(before);
      expect(o.endedAt).toBeLessThanOrEqual(after);
      expect(await ttl(r, keys.result(id))).toBeGreaterThan(590);
    }
    // The caller id's marker lives as long as its result; auto ids have no record at all.
    expect(await ttl(r, keys.record("given-1"))).toBeGreaterThan(590);
    expect(await r.sendCommand(["EXISTS", keys.record(ids[0]!)])).toBe(0);
    expect(await pendingCount(r, keys)).toBe(0);
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(0);
    expect(await r.sendCommand(["HMGET", keys.stats, "finished", "started"])).toEqual(["3", "3"]);
    // The histogram: no count field (its count is the sum of the buckets, readDurations).
    expect(await r.sendCommand(["HMGET", keys.durations, "10", "count", "sum_ms"])).toEqual([
      "3",
      null,
      "21",
    ]);
    const events = await r.sendCommand(["XRANGE", keys.events, "-", "+"]);
    expect(events.map(([, f]: [string, string[]]) => f)).toEqual([
      ["type", "finished", "ids", ids.join(",")],
    ]);
    const minute = Math.floor(after / 60000);
    expect(await r.sendCommand(["HGET", keys.minutes, `${minute}:finished`])).toBe("3");
  });

  // The per-minute hash keeps `kept` minutes, trimmed as minutes pass (include/minutes.lua). A
  // `trimmed` of `nan`, of no number, or far ahead stopped the trimming for good, and the hash
  // grew with every minute: the hash is started again. One a minute ahead (a clock
  // stepped back) only waits, keeping what it has.
  test.each([
    ["nan", false],
    ["junk", false],
    ["99999999999", false],
    ["1.5", false],
    ["ahead by a minute", true],
  ])(
    "a minutes hash whose trimmed is %s: the old minutes are trimmed, or kept",
    async (trimmed, kept) => {
      await using r = await rawRedis();
      const keys = await freshQueue(r);
      const minute = Math.floor((await redisTime(r)) / 60000);
      const value = trimmed === "ahead by a minute" ? String(minute + 1) : trimmed;
      await r.sendCommand(["HSET", keys.minutes, "trimmed", value, "1000:finished", "5"]);
      await r.sendCommand(["HSET", keys.minutes, `${minute - 400}:finished`, "7"]);
      await enqueue(r, keys, jobs(1));
      const taken = await take(r, keys, "w1", 1);
      await finishItems(
        asClient(r),
        keys,
        W,
        taken.map((e) => item(e)),
      );
      const fields = (await r.sendCommand(["HKEYS", keys.minutes])) as string[];
      expect(fields.includes("1000:finished")).toBe(kept);
      expect(fields.includes(`${minute}:finished`)).toBe(true);
      if (!kept) {
        expect(await r.sendCommand(["HGET", keys.minutes, "trimmed"])).toBe(String(minute));
      }
    },
  );

  test("finishRuns (the worker's, from its outcomes) writes each outcome from the job's parts", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const spec = [{ id: "given-1", task: "t x", payload: '{"a":\n1}', maxAttempts: 3 }];
    const w = { ...W, consumer: 'w"1' };
    await enqueue(r, keys, [...jobs(2), ...spec]);
    const taken = await take(r, keys, w.consumer, 10);
    const items = taken.map((e) => ({ ...item(e, "[1]", 4.6), worker: w.consumer }));
    const runs = items.map((it) => ({ ...it, job: it }));
    expect((await finishRuns(asClient(r), keys, w, runs)).codes).toEqual([1, 1, 1]);
    const got = await Promise.all(items.map((it) => r.sendCommand(["GET", keys.result(it.jobId)])));
    for (const [n, it] of items.entries()) {
      expect(parseOutcome(String(got[n]))).toMatchObject({
        worker: 'w"1',
        task: it.task,
        payload: it.payload.replace(/\n/g, " "),
        runMs: 5,
        attempt: 1,
        maxAttempts: it.maxAttempts,
        enqueuedAt: null,
        text: "[1]",
      });
    }
    expect(parseOutcome(String(got[2]))).toMatchObject({
      worker: 'w"1',
      task: "t x",
      payload: '{"a": 1}',
      runMs: 5,
      attempt: 1,
      maxAttempts: 3,
      enqueuedAt: null,
      text: "[1]",
    });
  });

  test("a second finish of the same job keeps the first outcome and says so", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await enqueue(r, keys, jobs(1));
    const [entry] = await take(r, keys, "w1", 1);
    const first = await finishItems(asClient(r), keys, W, [item(entry!, '"first"')]);
    const again = await finishItems(asClient(r), keys, W, [item(entry!, '"second"', 99)]);
    expect(first.codes).toEqual([1]);
    expect(again.codes).toEqual([0]);
    const o = parseOutcome(String(await r.sendCommand(["GET", keys.result(entry![0])])));
    expect(o).toMatchObject({ text: '"first"', runMs: 7 });
    expect(await r.sendCommand(["HGET", keys.stats, "finished"])).toBe("1");
  });

  test("a result key of another type: -2, the job dead-lettered, the entry acknowledged", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await enqueue(r, keys, jobs(1));
    const [entry] = await take(r, keys, "w1", 1);
    await r.sendCommand(["HSET", keys.result(entry![0]), "x", "1"]);
    expect((await finishItems(asClient(r), keys, W, [item(entry!)])).codes).toEqual([-2]);
    expect(await pendingCount(r, keys)).toBe(0);
  });

  // A string that is no outcome (written by hand while the job ran): the result was dropped as
  // a duplicate's (code 0) and the job read back as unknown. Dead-lettered now, as a key
  // of another type is, the letter saying what the key holds; the key itself is left alone.
  test("a result key holding a string that is no outcome: -2, the job dead-lettered", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await enqueue(r, keys, jobs(1));
    const [entry] = await take(r, keys, "w1", 1);
    const id = entry![0];
    await r.sendCommand(["SET", keys.result(id), "garbage"]);
    expect((await finishItems(asClient(r), keys, W, [item(entry!)])).codes).toEqual([-2]);
    expect(await pendingCount(r, keys)).toBe(0);
    const letters = (await r.sendCommand(["XRANGE", keys.dead, "-", "+"])) as [string, string[]][];
    const f = letters[0]![1];
    expect(f[f.indexOf("error") + 1]).toBe(
      `corrupt record: key ${keys.result(id)} holds a string that is no outcome`,
    );
    expect(await r.sendCommand(["GET", keys.result(id)])).toBe("garbage");
  });

  test("take k: the same call returns up to k new entries, now pending to the worker", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const queued = await enqueue(r, keys, jobs(5));
    const [entry] = await take(r, keys, "w1", 1);
    const out = await finishItems(asClient(r), keys, W, [item(entry!)], 3);
    expect(out.codes).toEqual([1]);
    expect(out.taken.map(([id]) => id)).toEqual(queued.slice(1, 4).map((e) => e.id));
    expect(out.taken.map(([id, f]) => parseEntry(id, f).ok)).toEqual([true, true, true]);
    expect(await pendingCount(r, keys)).toBe(3);
    // The last one: k larger than what is left.
    const rest = await finishItems(
      asClient(r),
      keys,
      W,
      out.taken.map((e) => item(e)),
      8,
    );
    expect(rest.taken.map(([id]) => id)).toEqual([queued[4]!.id]);
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(1); // only the one still pending
  });

  test("a full Redis still records the results, and frees the entries", async () => {
    await using small = await startSmallRedis(0);
    const client = await connect(small.url);
    try {
      const keys: QueueKeys = queueKeys(testPrefix(), "q");
      await client.sendCommand(["XGROUP", "CREATE", keys.stream, "workers", "0", "MKSTREAM"]);
      await enqueueJobs(client, keys, prepareBatch([...jobs(20), ...jobs(1, { id: "given" })]));
      const read = await client.sendCommand<[[string, TakenEntry[]]]>([
        "XREADGROUP",
        "GROUP",
        "workers",
        "w1",
        "COUNT",
        "50",
        "STREAMS",
        keys.stream,
        ">",
      ]);
      await small.capBelowUsed();
      const oom = await small.oomRefusals();
      await expect(client.sendCommand(["SET", "probe", "x"])).rejects.toThrow(/^OOM/);
      const out = await finishItems(
        client,
        keys,
        W,
        read[0][1].map((e) => item(e)),
      );
      expect(out.codes).toEqual(Array(21).fill(1));
      expect(await small.oomRefusals()).toBe(oom + 1); // the probe only
      expect(await client.sendCommand<unknown>(["EXISTS", keys.result("given")])).toBe(1);
      expect(await client.sendCommand<unknown>(["XLEN", keys.stream])).toBe(0);
    } finally {
      client.destroy();
    }
  });

  test("a counter field that is not an integer: results recorded and entries acknowledged in one call", async () => {
    await using v = await engineQueue();
    await v.r.sendCommand(["HSET", v.k.stats, "finished", "x"]);
    await v.r.sendCommand(["HSET", v.k.durations, "5", "y"]);
    const entry = await plant(v);
    await deliver(v, "w1");
    const run = { ...RUN, entryId: entry, jobId: entry, hasRecord: false };
    expect((await finishItems(v.client, v.k, W, [run])).codes).toEqual([1]);
    expect(await pendingRow(v, entry)).toBeNull();
    expect(await v.r.sendCommand(["HMGET", v.k.stats, "finished"])).toEqual(["1"]);
    expect(await v.r.sendCommand(["HMGET", v.k.durations, "5"])).toEqual(["1"]);
  });

  test("a full Redis: a finish that takes records its results and takes the next entry", async () => {
    await using small = await startSmallRedis(0);
    const client = await connect(small.url);
    try {
      await using v = await engineQueue(client);
      const entries = [await plant(v), await plant(v), await plant(v)];
      await deliver(v, "w1", 1);
      await small.capBelowUsed();
      const oom = await small.oomRefusals();
      await expect(client.sendCommand(["SET", "probe", "x"])).rejects.toThrow(/^OOM/);
      const run = { ...RUN, entryId: entries[0]!, jobId: entries[0]!, hasRecord: false };
      const out = await finishItems(client, v.k, W, [run], 1);
      expect(out.codes).toEqual([1]);
      expect(out.taken.map(([id]) => id)).toEqual([entries[1]!]);
      expect(await small.oomRefusals()).toBe(oom + 1); // the probe only
      expect(await client.sendCommand<unknown>(["XLEN", v.k.stream])).toBe(2);
    } finally {
      client.destroy();
    }
  });

  test("entries finished behind an older pending one leave the stream, one or several", async () => {
    await using v = await engineQueue();
    const entries = [await plant(v), await plant(v), await plant(v), await plant(v)];
    await deliver(v, "w1");
    const run = (e: string) => ({ ...RUN, entryId: e, jobId: e, hasRecord: false });
    expect((await finishItems(v.client, v.k, W, [run(entries[1]!)])).codes).toEqual([1]);
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(3);
    const two = [run(entries[2]!), run(entries[3]!)];
    expect((await finishItems(v.client, v.k, W, two)).codes).toEqual([1, 1]);
    const left = (await v.r.sendCommand(["XRANGE", v.k.stream, "-", "+"])) as [string][];
    expect(left.map(([id]) => id)).toEqual([entries[0]!]); // only the one still pending
  });

  test("a stale worker finishes first after a claim: the record the claim made does not outlive the result", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "A");
    const o = { minIdleMs: 0, count: 10, failureTtlS: 6_000, deadMaxLen: 100, eventsMaxLen: 100 };
    const { claimed } = await claimLapsed(v.client, v.k, { ...o, consumer: "B" });
    expect(claimed.map((c) => c.kind === "run" && c.hasRecord)).toEqual([true]);
    const run = { ...RUN, entryId: entry, jobId: entry };
    const a = await finishItems(v.client, v.k, { ...W, consumer: "A" }, [
      { ...run, worker: "A", hasRecord: false },
    ]);
    expect(a.codes).toEqual([1]);
    const ttl = Number(await v.r.sendCommand(["TTL", v.k.recordPrefix + entry]));
    expect(ttl).toBeGreaterThan(0); // the claim's own TTL: never forever
    const b = await finishItems(v.client, v.k, { ...W, consumer: "B" }, [
      { ...run, worker: "B", hasRecord: true },
    ]);
    expect(b.codes).toEqual([0]);
    const after = Number(await v.r.sendCommand(["TTL", v.k.recordPrefix + entry]));
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThanOrEqual(W.resultTtlS); // the loser set the result's TTL
  });

  test("a script error after the outcomes acknowledges nothing; the finish sent again frees the entries", async () => {
    await using v = await engineQueue();
    const entries = [await plant(v), await plant(v)];
    await deliver(v, "w1");
    // An events stream at the last possible id: the batch's event XADD fails, after the
    // outcomes and before the acknowledgements (an error half-way, as any could be).
    await v.r.sendCommand(["XADD", v.k.events, "*", "x", "1"]);
    await v.r.sendCommand(["XSETID", v.k.events, "18446744073709551615-18446744073709551615"]);
    const runs = entries.map((e) => ({ ...RUN, entryId: e, jobId: e, hasRecord: false }));
    await expect(finishItems(v.client, v.k, W, runs)).rejects.toThrow(/last possible ID/);
    for (const e of entries) expect(await pendingRow(v, e)).toMatchObject({ owner: "w1" });
    await v.r.sendCommand(["DEL", v.k.events]);
    // Sent again: the outcomes are there (kept), and now the entries go.
    expect((await finishItems(v.client, v.k, W, runs)).codes).toEqual([0, 0]);
    for (const e of entries) expect(await pendingRow(v, e)).toBeNull();
  });
});

const RUN = {
  runMs: 1,
  attempt: 1,
  maxAttempts: 3,
  enqueuedAt: null,
  worker: "w1",
  task: "echo",
  payload: "1",
  result: "1",
};
