// An outcome key r:<id> that holds another type (someone's HSET on it) is no outcome: the job is
// dead-lettered as corrupt, counted, its record given a TTL, never lost (fail.lua, finish.lua);
// the scripts that ask "has the job ended?" (claim, leave, release) ask TYPE, not EXISTS. And the
// worker's `started` tally is counted only by a call that acknowledged something.
import { describe, expect, test } from "bun:test";
import { claimLapsed } from "../lib/engine/claim.ts";
import { failJobs } from "../lib/engine/fail.ts";
import { leaveForOthers } from "../lib/engine/leave.ts";
import { releaseAll } from "../lib/engine/release.ts";
import { getJobs } from "../lib/queue/read.ts";
import { finishItems } from "./fixtures/finish.ts";
import {
  deadLetters,
  deliver,
  type EngineQueue,
  engineQueue,
  failedAttempt,
  hgetall,
  plant,
  streamEntries,
  toMap,
} from "./fixtures/plant.ts";

const FAIL = { consumer: "w1", failureTtlS: 600, deadMaxLen: 1000, eventsMaxLen: 1000 };
const FINISH = { consumer: "w1", resultTtlS: 60, eventsMaxLen: 1000, failureTtlS: 600 };

function finished(entry: string, jobId = entry, hasRecord = false) {
  const base = { attempt: 1, maxAttempts: 3, enqueuedAt: null, worker: "w1", task: "echo" };
  return { ...base, entryId: entry, jobId, hasRecord, runMs: 5, payload: "{}", result: "1" };
}

async function letters(v: EngineQueue): Promise<Record<string, string>[]> {
  return (await deadLetters(v)).map(([, flat]) => toMap(flat));
}

/** A job with a caller id, its record, and an r:<id> that is a hash; delivered to w1. */
async function corruptJob(v: EngineQueue): Promise<string> {
  const entry = await plant(v, { i: "job-1" });
  await v.r.sendCommand(["HSET", `${v.k.recordPrefix}job-1`, "e", entry, "q", "1"]);
  await v.r.sendCommand(["HSET", `${v.k.resultPrefix}job-1`, "someone", "else"]);
  await deliver(v, "w1");
  return entry;
}

async function expectDeadLettered(v: EngineQueue): Promise<void> {
  const [letter, more] = await letters(v);
  expect(more).toBeUndefined();
  expect(letter).toMatchObject({ id: "job-1", task: "echo", attempts: "1", max_attempts: "3" });
  expect(letter!.error).toBe(
    `corrupt record: key ${v.k.resultPrefix}job-1 holds a hash, not a string`,
  );
  expect(await hgetall(v, v.k.stats)).toMatchObject({ failed: "1", dead: "1" });
  const ttl = Number(await v.r.sendCommand(["TTL", `${v.k.recordPrefix}job-1`]));
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(600);
  // The operator's key is left as it is; the entry is settled.
  expect(await v.r.sendCommand(["HGET", `${v.k.resultPrefix}job-1`, "someone"])).toBe("else");
  expect(await streamEntries(v)).toEqual([]);
  // Read back (result, waiters): failed, from its letter, not unknown.
  const [job] = await getJobs(v.client, v.k, ["job-1"]);
  expect(job).toMatchObject({ id: "job-1", status: "failed", error: letter!.error });
}

describe("r:<id> of another type", () => {
  test("fail: a retry of such a job is dead-lettered as corrupt, not dropped", async () => {
    await using v = await engineQueue();
    const entry = await corruptJob(v);
    const item = failedAttempt(entry, { id: "job-1", hasRecord: true });
    expect(await failJobs(v.client, v.k, FAIL, [item])).toEqual(["corrupt"]);
    await expectDeadLettered(v);
    expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(0);
  });

  test("fail: a failure for good of such a job is dead-lettered and counted", async () => {
    await using v = await engineQueue();
    const entry = await corruptJob(v);
    const item = failedAttempt(entry, { id: "job-1", hasRecord: true, retryInMs: null });
    expect(await failJobs(v.client, v.k, FAIL, [item])).toEqual(["corrupt"]);
    await expectDeadLettered(v);
  });

  test("finish: -2, and the job is dead-lettered as corrupt", async () => {
    await using v = await engineQueue();
    const entry = await corruptJob(v);
    const out = await finishItems(v.client, v.k, FINISH, [finished(entry, "job-1", true)]);
    expect(out.codes).toEqual([-2]);
    await expectDeadLettered(v);
    const events = (await v.r.sendCommand(["XRANGE", v.k.events, "-", "+"])) as [
      string,
      string[],
    ][];
    expect(events.map(([, f]) => f)).toEqual([["type", "failed", "ids", "job-1"]]);
  });

  test("finish: re-sent after a lost reply, it writes no second letter", async () => {
    await using v = await engineQueue();
    const entry = await corruptJob(v);
    const item = finished(entry, "job-1", true);
    expect((await finishItems(v.client, v.k, FINISH, [item])).codes).toEqual([-2]);
    expect((await finishItems(v.client, v.k, FINISH, [item])).codes).toEqual([-2]);
    await expectDeadLettered(v);
  });

  test("a finished outcome string is left alone: first wins, no letter", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w1");
    await v.r.sendCommand(["SET", v.k.resultPrefix + entry, 'F1 1 1 3 - ""\n""\n{}\n1']);
    expect(
      await failJobs(v.client, v.k, FAIL, [failedAttempt(entry, { retryInMs: null })]),
    ).toEqual(["left"]);
    expect(await letters(v)).toEqual([]);
  });

  test("claim, leave and release do not take such a job for ended", async () => {
    await using v = await engineQueue();
    const a = await plant(v, { i: "job-a" });
    const b = await plant(v, { t: "png", i: "job-b" });
    const c = await plant(v, { i: "job-c" });
    for (const id of ["job-a", "job-b", "job-c"]) {
      await v.r.sendCommand(["HSET", `${v.k.resultPrefix}${id}`, "x", "1"]);
    }
    await deliver(v, "w0", 1);
    const claim = { consumer: "w2", minIdleMs: 0, count: 10, failureTtlS: 600, deadMaxLen: 100 };
    const claimed = await claimLapsed(v.client, v.k, { ...claim, eventsMaxLen: 100 });
    expect(claimed.claimed.map((x) => [x.entry, x.kind])).toEqual([[a, "run"]]);
    await deliver(v, "w1", 2);
    const left = await leaveForOthers(
      v.client,
      v.k,
      "w1",
      [50],
      [{ entry: b, id: null, task: "png" }],
    );
    expect(left).toEqual(["parked"]);
    expect(await v.r.sendCommand(["ZRANGE", `${v.k.parkedPrefix}png`, "0", "-1"])).toEqual([
      "job-b",
    ]);
    expect(await releaseAll(v.client, v.k, "w1")).toBe(1);
    const again = (await streamEntries(v)).filter((e) => e.id !== a && e.id !== c);
    expect(again.map((e) => e.f.i)).toEqual(["job-c"]);
  });
});

describe("the started tally", () => {
  test("a fail re-sent after a lost reply (every job left alone) does not count it again", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w1");
    const o = { ...FAIL, startedSince: 3 };
    expect(await failJobs(v.client, v.k, o, [failedAttempt(entry, { retryInMs: 1000 })])).toEqual([
      "retrying",
    ]);
    expect(await failJobs(v.client, v.k, o, [failedAttempt(entry, { retryInMs: 1000 })])).toEqual([
      "left",
    ]);
    expect(await v.r.sendCommand(["HGET", v.k.stats, "started"])).toBe("3");
  });

  test("a finish re-sent after a lost reply does not count it again", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w1");
    const w = { ...FINISH, startedSince: 2 };
    expect((await finishItems(v.client, v.k, w, [finished(entry)])).codes).toEqual([1]);
    expect((await finishItems(v.client, v.k, w, [finished(entry)])).codes).toEqual([0]);
    expect(await v.r.sendCommand(["HGET", v.k.stats, "started"])).toBe("2");
  });

  test("a duplicate run's finish (the job ended elsewhere) still counts its start", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w1");
    await v.r.sendCommand(["SET", v.k.resultPrefix + entry, 'F1 1 1 3 - ""\n""\n{}\n1']);
    const w = { ...FINISH, startedSince: 1 };
    expect((await finishItems(v.client, v.k, w, [finished(entry)])).codes).toEqual([0]);
    expect(await v.r.sendCommand(["HGET", v.k.stats, "started"])).toBe("1");
  });
});
