// The engine's rare path: dead letters requeued (requeue.lua) or discarded (discard.lua), through
// their typed functions against the real Redis of tests/preload.ts. Letters are made by real
// final failures (fail.lua), not planted by hand.
import { describe, expect, test } from "bun:test";
import { failJobs } from "../lib/engine/fail.ts";
import { discardLetters, requeueLetters } from "../lib/engine/requeue.ts";
import {
  deliver,
  type EngineQueue,
  engineQueue,
  hgetall,
  plant,
  streamEntries,
} from "./fixtures/plant.ts";

const OPTS = { consumer: "w1", failureTtlS: 600, deadMaxLen: 1000, eventsMaxLen: 1000 };

/** Enqueues, runs and fails one job for good; returns its id and its letter's id. */
async function deadJob(v: EngineQueue, i?: string): Promise<{ id: string; letter: string }> {
  const entry = await plant(v, { t: "echo", p: '"x"', a: 2, m: 3, ...(i ? { i } : {}) });
  // A caller id's marker record, as the enqueue writes it.
  if (i) await v.r.sendCommand(["HSET", v.k.recordPrefix + i, "e", entry, "q", "1000"]);
  await deliver(v, "w1");
  const failed = { entry, id: i ?? null, hasRecord: i !== undefined, runNo: 1, runMs: 7 };
  await failJobs(v.client, v.k, OPTS, [{ ...failed, error: "broke", retryInMs: null }]);
  const letters = (await v.r.sendCommand(["XRANGE", v.k.dead, "-", "+"])) as [string, string[]][];
  return { id: i ?? entry, letter: letters.at(-1)![0] };
}

describe("requeue.lua", () => {
  test("a dead letter's job is queued again with a fresh entry and its last run kept", async () => {
    await using v = await engineQueue();
    const { id, letter } = await deadJob(v);
    const reply = await requeueLetters(v.client, v.k, [{ letter, id: null }], 3);
    expect(reply).toEqual([{ id, verdict: "requeued" }]);
    expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(0);
    expect(await v.r.sendCommand(["EXISTS", v.k.resultPrefix + id])).toBe(0);
    const [entry] = await streamEntries(v);
    expect(entry!.f).toEqual({ t: "echo", p: '"x"', a: "0", m: "3", i: id, n: "1" });
    const rec = await hgetall(v, v.k.recordPrefix + id);
    expect(rec).toMatchObject({ status: "queued", a: "0", e: entry!.id, "h:1:x": "broke" });
    expect(rec["h:1"]).toMatch(/^3 \d+ w1$/);
    expect(rec["h:1:e"]).toMatch(/^\d+ failed$/);
    expect(await v.r.sendCommand(["TTL", v.k.recordPrefix + id])).toBe(-1);
    expect((await hgetall(v, v.k.stats)).requeued).toBe("1");
  });

  test("a caller id's record loses the failure TTL and keeps its enqueue time", async () => {
    await using v = await engineQueue();
    const { id, letter } = await deadJob(v, "job-6");
    const key = v.k.recordPrefix + id;
    expect(await v.r.sendCommand(["TTL", key])).toBeGreaterThan(0);
    expect(await hgetall(v, key)).toMatchObject({ status: "failed", error: "broke" });
    await requeueLetters(v.client, v.k, [{ letter, id }], 3);
    expect(await v.r.sendCommand(["TTL", key])).toBe(-1);
    const rec = await hgetall(v, key);
    expect(rec).toMatchObject({ status: "queued", q: "1000", t: "echo", a: "0", n: "1" });
    expect(rec.error).toBeUndefined();
  });

  test("with the failed value and record expired, the job is made again from its letter", async () => {
    await using v = await engineQueue();
    const { id, letter } = await deadJob(v, "job-7");
    await v.r.sendCommand(["DEL", v.k.resultPrefix + id, v.k.recordPrefix + id]);
    expect(await requeueLetters(v.client, v.k, [{ letter, id }], 3)).toEqual([
      { id, verdict: "requeued" },
    ]);
    const [entry] = await streamEntries(v);
    expect(entry!.f).toEqual({ t: "echo", p: '"x"', a: "0", m: "3", i: id, n: "1" });
    expect(await hgetall(v, v.k.recordPrefix + id)).toMatchObject({
      "h:1": "3  ",
      "h:1:x": "broke",
    });
  });

  test("a job alive again is left alone; a letter that is not there is missing", async () => {
    await using v = await engineQueue();
    const { id, letter } = await deadJob(v, "job-8");
    await v.r.sendCommand(["SET", v.k.resultPrefix + id, 'F1 1 1 3 - "w1"\n"echo"\n1\ntrue']);
    const reply = await requeueLetters(
      v.client,
      v.k,
      [
        { letter, id },
        { letter, id: "someone-else" },
        { letter: "1-1", id: null },
      ],
      3,
    );
    expect(reply).toEqual([
      { id, verdict: "active" },
      { id: "someone-else", verdict: "missing" },
      { id: "", verdict: "missing" },
    ]);
    expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(1);
    expect(await streamEntries(v)).toEqual([]);
  });
});

describe("discard.lua", () => {
  test("deletes the letter and the failed value it is about", async () => {
    await using v = await engineQueue();
    const { id, letter } = await deadJob(v, "job-d");
    expect(await discardLetters(v.client, v.k, [{ letter, id: null }])).toEqual([
      { id, deleted: true },
    ]);
    expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(0);
    expect(await v.r.sendCommand(["EXISTS", v.k.resultPrefix + id])).toBe(0);
    expect(await discardLetters(v.client, v.k, [{ letter, id: null }])).toEqual([
      { id: "", deleted: false },
    ]);
  });

  test("a failed value about another letter (the job failed again since) is kept", async () => {
    await using v = await engineQueue();
    const { id, letter } = await deadJob(v, "job-e");
    const value = 'X1 1 3 3 1 9-9 "w1"\n"echo"\n1\nlater';
    await v.r.sendCommand(["SET", v.k.resultPrefix + id, value]);
    expect(await discardLetters(v.client, v.k, [{ letter, id }])).toEqual([{ id, deleted: true }]);
    expect(await v.r.sendCommand(["GET", v.k.resultPrefix + id])).toBe(value);
  });
});

describe("requeue.lua, one job in one call", () => {
  test("two letters of one job requeued in one call: one entry; the later letter says active and stays", async () => {
    await using v = await engineQueue();
    const letter = (error: string) =>
      v.r.sendCommand([
        "XADD",
        v.k.dead,
        "*",
        "id",
        "job-9",
        "task",
        "t",
        "error",
        error,
        "attempts",
        "3",
        "payload",
        "1",
        "max_attempts",
        "3",
      ]);
    const l1 = String(await letter("e1"));
    const l2 = String(await letter("e2"));
    const refs = [
      { letter: l1, id: null },
      { letter: l2, id: null },
    ];
    expect(await requeueLetters(v.client, v.k, refs, 3)).toEqual([
      { id: "job-9", verdict: "requeued" },
      { id: "job-9", verdict: "active" },
    ]);
    expect((await streamEntries(v)).map((e) => e.f.i)).toEqual(["job-9"]);
    expect(await v.r.sendCommand(["XRANGE", v.k.dead, "-", "+"])).toHaveLength(1);
    expect(await v.r.sendCommand(["HGET", v.k.stats, "requeued"])).toBe("1");
  });
});
