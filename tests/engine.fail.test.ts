// The engine's rare path: failed attempts (fail.lua) and promotion of due jobs (promote.lua),
// called through their typed functions against the real Redis of tests/preload.ts.
import { describe, expect, test } from "bun:test";
import { failJobs } from "../lib/engine/fail.ts";
import { promoteDue } from "../lib/engine/promote.ts";
import {
  deadLetters,
  deliver,
  engineQueue,
  failedAttempt,
  hgetall,
  pendingRow,
  plant,
  redisNow,
  streamEntries,
} from "./fixtures/plant.ts";

const OPTS = { consumer: "w1", failureTtlS: 600, deadMaxLen: 1000, eventsMaxLen: 1000 };

describe("fail.lua", () => {
  test("a retry lands in delayed at Redis TIME + delay; promote re-adds it with a carried and i set", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { t: "echo", p: '{"n":7}', a: 0, m: 3 });
    await deliver(v, "w1");
    const before = await redisNow(v);
    expect(
      await failJobs(v.client, v.k, OPTS, [failedAttempt(entry, { retryInMs: 60_000 })]),
    ).toEqual(["retrying"]);
    const after = await redisNow(v);
    const due = Number(await v.r.sendCommand(["ZSCORE", v.k.delayed, entry]));
    expect(due).toBeGreaterThanOrEqual(before + 60_000);
    expect(due).toBeLessThanOrEqual(after + 60_000);
    const rec = await hgetall(v, v.k.recordPrefix + entry);
    expect(rec).toMatchObject({
      status: "retrying",
      error: "boom",
      t: "echo",
      a: "1",
      m: "3",
      n: "1",
    });
    expect(rec["h:1:e"]).toMatch(/^\d+ retrying$/);
    expect(rec["h:1"]).toMatch(/^1 \d+ w1$/);
    expect(rec["h:1:x"]).toBe("boom");
    expect(await pendingRow(v, entry)).toBeNull();
    expect(await streamEntries(v)).toEqual([]); // acknowledged and trimmed
    // Not due yet: promotion leaves it.
    expect(await promoteDue(v.client, v.k)).toBe(0);
    await v.r.sendCommand(["ZADD", v.k.delayed, "0", entry]); // due now
    expect(await promoteDue(v.client, v.k)).toBe(1);
    const [again] = await streamEntries(v);
    expect(again!.f).toEqual({ t: "echo", p: '{"n":7}', a: "1", m: "3", i: entry, n: "1" });
    const moved = await hgetall(v, v.k.recordPrefix + entry);
    expect(moved).toMatchObject({ status: "queued", e: again!.id });
    expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(0);
    expect(await promoteDue(v.client, v.k)).toBe(0); // ZREM first: never re-added twice
  });

  test("counters: retried, failed and dead, and the starts the worker counted", async () => {
    await using v = await engineQueue();
    const a = await plant(v);
    const b = await plant(v);
    await deliver(v, "w1");
    const items = [failedAttempt(a, { retryInMs: 1_000 }), failedAttempt(b, { retryInMs: null })];
    await failJobs(v.client, v.k, { ...OPTS, startedSince: 7 }, items);
    const stats = await hgetall(v, v.k.stats);
    expect(stats).toEqual({ started: "7", retried: "1", failed: "1", dead: "1" });
  });

  test("a delivery count above 1 is charged: a = a + deliveries", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { a: 1, m: 5, i: "job-x", n: 1 });
    await deliver(v, "w0");
    await v.r.sendCommand(["XCLAIM", v.k.stream, "workers", "w1", "0", entry]); // deliveries 2
    const item = failedAttempt(entry, { id: "job-x", hasRecord: true, runNo: 3, retryInMs: 0 });
    expect(await failJobs(v.client, v.k, OPTS, [item])).toEqual(["retrying"]);
    expect(await hgetall(v, `${v.k.recordPrefix}job-x`)).toMatchObject({ a: "3", n: "3" });
  });

  test("a failure re-sent after the entry was acknowledged changes nothing", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w1");
    expect(
      await failJobs(v.client, v.k, OPTS, [failedAttempt(entry, { retryInMs: 60_000 })]),
    ).toEqual(["retrying"]);
    const rec = await hgetall(v, v.k.recordPrefix + entry);
    const due = await v.r.sendCommand(["ZSCORE", v.k.delayed, entry]);
    const resent = await failJobs(v.client, v.k, OPTS, [failedAttempt(entry, { retryInMs: null })]);
    expect(resent).toEqual(["left"]);
    expect(await hgetall(v, v.k.recordPrefix + entry)).toEqual(rec);
    expect(await v.r.sendCommand(["ZSCORE", v.k.delayed, entry])).toBe(due);
    expect(await deadLetters(v)).toEqual([]);
    expect(await v.r.sendCommand(["EXISTS", v.k.resultPrefix + entry])).toBe(0);
  });

  test("a script error after the writes acknowledges nothing; the failure sent again goes through", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w1");
    // An events stream at the last possible id: the retry's event XADD fails, after the
    // retry is written and before the acknowledgement (an error half-way, as any could be).
    await v.r.sendCommand(["XADD", v.k.events, "*", "x", "1"]);
    await v.r.sendCommand(["XSETID", v.k.events, "18446744073709551615-18446744073709551615"]);
    const failed = [failedAttempt(entry, { retryInMs: 60_000 })];
    await expect(failJobs(v.client, v.k, OPTS, failed)).rejects.toThrow(/last possible ID/);
    expect(await pendingRow(v, entry)).toEqual({ owner: "w1", deliveries: 1 });
    await v.r.sendCommand(["DEL", v.k.events]);
    expect(await failJobs(v.client, v.k, OPTS, failed)).toEqual(["retrying"]);
    expect(await pendingRow(v, entry)).toBeNull();
    expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(1);
  });

  test("a consumer that does not own the entry changes nothing", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w2");
    const codes = await failJobs(v.client, v.k, OPTS, [failedAttempt(entry, { retryInMs: null })]);
    expect(codes).toEqual(["left"]);
    expect(await pendingRow(v, entry)).toEqual({ owner: "w2", deliveries: 1 });
    expect(await deadLetters(v)).toEqual([]);
    expect(
      await v.r.sendCommand(["EXISTS", v.k.resultPrefix + entry, v.k.recordPrefix + entry]),
    ).toBe(0);
    expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(0);
  });

  test("a final failure writes a dead letter and the failed value; a second keeps the first", async () => {
    await using v = await engineQueue();
    // Two deliveries of one job (a duplicate after a claim or release): both fail for good.
    const first = await plant(v, { t: "t1", p: '"a"', a: 2, m: 3, i: "job-1" });
    const second = await plant(v, { t: "t1", p: '"a"', a: 2, m: 3, i: "job-1" });
    const record = `${v.k.recordPrefix}job-1`;
    await v.r.sendCommand(["HSET", record, "e", first, "q", "1000"]); // the enqueue's marker
    await deliver(v, "w1");
    const base = { id: "job-1", hasRecord: true, retryInMs: null, runNo: 3, runMs: 40 };
    const before = await redisNow(v);
    const codes = await failJobs(v.client, v.k, OPTS, [
      failedAttempt(first, { ...base, error: "e1" }),
    ]);
    expect(codes).toEqual(["failed"]);
    const dead = await deadLetters(v);
    expect(dead).toHaveLength(1);
    const [letterId, fields] = dead[0]!;
    const letter = ["id", "job-1", "task", "t1", "error", "e1", "attempts", "3", "payload", '"a"'];
    expect(fields).toEqual([...letter, "max_attempts", "3"]);
    const value = String(await v.r.sendCommand(["GET", `${v.k.resultPrefix}job-1`]));
    const m = /^X(\d+) 40 3 3 1000 (\S+) "w1"\n"t1"\n"a"\ne1$/.exec(value);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(before);
    expect(m![2]).toBe(letterId);
    expect(await v.r.sendCommand(["TTL", `${v.k.resultPrefix}job-1`])).toBeGreaterThan(590);
    expect(await v.r.sendCommand(["TTL", record])).toBeGreaterThan(590);
    expect(await hgetall(v, record)).toMatchObject({ status: "failed", error: "e1", q: "1000" });
    const again = await failJobs(v.client, v.k, OPTS, [
      failedAttempt(second, { ...base, error: "e2" }),
    ]);
    expect(again).toEqual(["left"]);
    expect(await v.r.sendCommand(["GET", `${v.k.resultPrefix}job-1`])).toBe(value);
    expect(await deadLetters(v)).toHaveLength(1);
    expect(await pendingRow(v, second)).toBeNull(); // the duplicate's entry goes
  });

  test("two deliveries of one job failed in one batch: the first decides", async () => {
    await using v = await engineQueue();
    const first = await plant(v, { a: 2, m: 3, i: "job-3" });
    const second = await plant(v, { a: 2, m: 3, i: "job-3" });
    await deliver(v, "w1");
    const base = { id: "job-3", retryInMs: null, runNo: 3 };
    const items = [
      failedAttempt(first, { ...base, error: "e1" }),
      failedAttempt(second, { ...base, error: "e2" }),
    ];
    expect(await failJobs(v.client, v.k, OPTS, items)).toEqual(["failed", "left"]);
    expect(await deadLetters(v)).toHaveLength(1);
    expect(String(await v.r.sendCommand(["GET", `${v.k.resultPrefix}job-3`]))).toEndWith("\ne1");
    expect(await v.r.sendCommand(["XPENDING", v.k.stream, "workers"])).toEqual([
      0,
      null,
      null,
      null,
    ]);
  });

  test("a record that is not a hash: failed for good as corrupt (letter, failed value), acknowledged", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { i: "job-4" });
    await v.r.sendCommand(["SET", `${v.k.recordPrefix}job-4`, "garbage"]);
    await deliver(v, "w1");
    const item = failedAttempt(entry, { id: "job-4", hasRecord: true, retryInMs: 0 });
    expect(await failJobs(v.client, v.k, OPTS, [item])).toEqual(["corrupt"]);
    expect(await pendingRow(v, entry)).toBeNull();
    expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(0);
    expect(await v.r.sendCommand(["GET", `${v.k.recordPrefix}job-4`])).toBe("garbage");
    const [[, fields]] = (await deadLetters(v)) as [[string, string[]]];
    expect(fields.slice(0, 6)).toEqual([
      "id",
      "job-4",
      "task",
      "echo",
      "error",
      "corrupt record: not a hash",
    ]);
    const value = String(await v.r.sendCommand(["GET", `${v.k.resultPrefix}job-4`]));
    expect(value).toStartWith("X");
    expect(value).toEndWith("\ncorrupt record: not a hash");
    expect(await v.r.sendCommand(["HGET", v.k.stats, "dead"])).toBe("1");
  });

  test("a counter field that is not an integer: the retry is written and the entry acknowledged (no second copy)", async () => {
    await using v = await engineQueue();
    await v.r.sendCommand(["HSET", v.k.stats, "retried", "x", "started", "y"]);
    await v.r.sendCommand(["HSET", v.k.minutes, "trimmed", "z"]);
    const entry = await plant(v);
    await deliver(v, "w1");
    const codes = await failJobs(v.client, v.k, { ...OPTS, startedSince: 1 }, [
      failedAttempt(entry),
    ]);
    expect(codes).toEqual(["retrying"]);
    expect(await pendingRow(v, entry)).toBeNull();
    expect(await promoteDue(v.client, v.k)).toBe(1);
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(1); // one live copy
    // A refused counter starts again from this batch's count.
    expect(await hgetall(v, v.k.stats)).toEqual({ retried: "1", started: "1" });
  });

  test("a queue key of the wrong type: refused before any write, the entry still pending", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w1");
    await v.r.sendCommand(["SET", v.k.delayed, "oops"]);
    const call = failJobs(v.client, v.k, OPTS, [failedAttempt(entry)]);
    await expect(call).rejects.toThrow(/courier: key .*delayed holds a string, not a zset/);
    expect(await pendingRow(v, entry)).toEqual({ owner: "w1", deliveries: 1 });
    expect(await v.r.sendCommand(["EXISTS", v.k.recordPrefix + entry])).toBe(0);
  });

  test("on a full Redis (letter only) the record goes, the letter is marked, its error cut", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { i: "job-2" });
    await v.r.sendCommand(["HSET", `${v.k.recordPrefix}job-2`, "e", entry, "q", "1"]);
    await deliver(v, "w1");
    // An error of 150 characters: the compact letter keeps its first 100 (it must free more
    // memory than it takes, or a queue where every job fails never drains).
    const error = "e".repeat(100) + "x".repeat(50);
    const item = failedAttempt(entry, { id: "job-2", hasRecord: true, retryInMs: null, error });
    const codes = await failJobs(v.client, v.k, { ...OPTS, failureTtlS: null }, [item]);
    expect(codes).toEqual(["failed"]);
    const [[, fields]] = (await deadLetters(v)) as [[string, string[]]];
    expect(fields.slice(-2)).toEqual(["record", "dropped"]);
    expect(fields[fields.indexOf("error") + 1]).toBe("e".repeat(100));
    expect(
      await v.r.sendCommand(["EXISTS", `${v.k.resultPrefix}job-2`, `${v.k.recordPrefix}job-2`]),
    ).toBe(0);
  });

  test("on a full Redis, a non-ASCII error is cut to 100 bytes of whole characters", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { i: "job-3" });
    await v.r.sendCommand(["HSET", `${v.k.recordPrefix}job-3`, "e", entry, "q", "1"]);
    await deliver(v, "w1");
    const error = `x${"é".repeat(80)}`; // 161 bytes: a cut at 100 falls inside an é
    const item = failedAttempt(entry, { id: "job-3", hasRecord: true, retryInMs: null, error });
    await failJobs(v.client, v.k, { ...OPTS, failureTtlS: null }, [item]);
    const [[, fields]] = (await deadLetters(v)) as [[string, string[]]];
    expect(fields[fields.indexOf("error") + 1]).toBe(`x${"é".repeat(49)}`);
  });
});

describe("promote.lua", () => {
  test("a delayed enqueue's record goes to the stream; a corrupt one as it is; a gone one not", async () => {
    await using v = await engineQueue();
    const rec = (id: string) => `${v.k.recordPrefix}${id}`;
    // The record a delayed enqueue writes (docs/internals.md, "The record"): the entry's fields, q, status queued.
    const fields = ["t", "echo", "p", '"d"', "a", "0", "m", "2", "o", '{"x":1}', "q", "5"];
    await v.r.sendCommand(["HSET", rec("later"), ...fields, "status", "queued"]);
    await v.r.sendCommand(["SET", rec("bad"), "not a hash"]);
    await v.r.sendCommand(["ZADD", v.k.delayed, "0", "later", "1", "bad", "2", "gone"]);
    expect(await promoteDue(v.client, v.k)).toBe(1);
    const added = await streamEntries(v);
    expect(added.map((e) => e.f)).toEqual([
      { t: "echo", p: '"d"', a: "0", m: "2", i: "later", o: '{"x":1}' },
      { i: "bad" }, // the worker's validation buries it with a reason
    ]);
    expect(await hgetall(v, rec("later"))).toMatchObject({ status: "queued", e: added[0]!.id });
    expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(0);
  });
});

// A worker clips its errors (clipError) before they get here; the history's own cut is for any
// other writer, and must end on a whole character: a cut inside one read back as U+FFFD.
describe("fail.lua: the history keeps at most 1,000 bytes of an error, whole characters", () => {
  test.each([
    ["ASCII", "x".repeat(1001), "x".repeat(1000)],
    ["two-byte characters, the cut inside one", `x${"é".repeat(600)}`, `x${"é".repeat(499)}`],
    ["three-byte ones", "€".repeat(400), "€".repeat(333)],
    ["four-byte ones, the cut between two", "😀".repeat(300), "😀".repeat(250)],
    ["four-byte ones, the cut inside one", `xx${"😀".repeat(300)}`, `xx${"😀".repeat(249)}`],
  ])("%s", async (_, error, kept) => {
    await using v = await engineQueue();
    const entry = await plant(v, { t: "echo", p: "1", a: 0, m: 3 });
    await deliver(v, "w1");
    const attempt = failedAttempt(entry, { retryInMs: 60_000, error });
    expect(await failJobs(v.client, v.k, OPTS, [attempt])).toEqual(["retrying"]);
    expect((await hgetall(v, v.k.recordPrefix + entry))["h:1:x"]).toBe(kept);
  });
});
