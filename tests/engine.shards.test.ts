// A job of shard 3 of a 6-shard queue has the id `<entry id>:3` on every worker-side path
// (docs/internals.md, "Job ids"): its outcome r:<id>, events, dead letter, record and history,
// the delayed and parked sets, and the `i` of every entry it is re-added as. Shards work on one
// Redis (tags are irrelevant there), so the test Redis of tests/preload.ts runs them.
import { describe, expect, test } from "bun:test";
import { defaults, type WorkerOptions } from "../lib/config.ts";
import { buryEntries } from "../lib/engine/bury.ts";
import { claimLapsed, readOwnPending } from "../lib/engine/claim.ts";
import { failJobs } from "../lib/engine/fail.ts";
import { finishRuns, type TakenEntry } from "../lib/engine/finish.ts";
import { GROUP, shardKeys } from "../lib/engine/keys.ts";
import { leaveForOthers } from "../lib/engine/leave.ts";
import { parseOutcome } from "../lib/engine/outcome.ts";
import { promoteDue } from "../lib/engine/promote.ts";
import { releaseAll } from "../lib/engine/release.ts";
import { requeueLetters } from "../lib/engine/requeue.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { sortClaimed, sortFresh } from "../lib/worker/entries.ts";
import { failBatch } from "../lib/worker/outcome-calls.ts";
import type { Failure } from "../lib/worker/outcomes.ts";
import { finishItems } from "./fixtures/finish.ts";
import { deadLetters, type EngineQueue, hgetall, streamEntries, toMap } from "./fixtures/plant.ts";
import { rawRedis, testPrefix } from "./helpers.ts";

const TASKS = new Set(["echo"]);
const LIMITS = { deadMaxLen: 1000, eventsMaxLen: 1000 };
const FAIL = { consumer: "w1", failureTtlS: 600, ...LIMITS };
const FINISH = { consumer: "w1", resultTtlS: 600, eventsMaxLen: 1000 };
/**
 * The planted entry's id: its ms (1000) is far from Redis' clock, so a script that takes a
 * job's enqueue time from anything but its auto id (`q` in the record) is seen.
 */
const ENTRY = "1000-1";
const ID = `${ENTRY}:3`;

/** Shard 3 of a fresh 6-shard queue, its group created (as a worker joining does). */
async function shard3(): Promise<EngineQueue> {
  const r = await rawRedis();
  const k = shardKeys(testPrefix(), "q", 6)[3]!;
  await r.sendCommand(["XGROUP", "CREATE", k.stream, GROUP, "0", "MKSTREAM"]);
  return {
    r,
    client: r as unknown as Redis,
    k,
    [Symbol.asyncDispose]: () => r[Symbol.asyncDispose](),
  };
}

/** Adds the entry an enqueue makes for an auto-id job (t p a m, no `i`) as ENTRY. */
async function plantJob(v: EngineQueue, task = "echo", a = 0, m = 3): Promise<void> {
  const f = ["t", task, "p", '{"x":1}', "a", String(a), "m", String(m)];
  await v.r.sendCommand(["XADD", v.k.stream, ENTRY, ...f]);
}

/** A plain read by `consumer`, as a worker's lane does it. */
async function read(v: EngineQueue, consumer: string): Promise<TakenEntry[]> {
  const reply = await v.r.sendCommand([
    ...["XREADGROUP", "GROUP", GROUP, consumer, "COUNT", "10", "STREAMS", v.k.stream, ">"],
  ]);
  return (reply?.[0]?.[1] ?? []) as TakenEntry[];
}

async function events(v: EngineQueue): Promise<Record<string, string>[]> {
  const rows = (await v.r.sendCommand(["XRANGE", v.k.events, "-", "+"])) as [string, string[]][];
  return rows.map(([, f]) => toMap(f));
}

async function outcome(v: EngineQueue, id: string) {
  return parseOutcome(String(await v.r.sendCommand(["GET", v.k.result(id)])));
}

describe("a 6-shard queue: worker-side paths name a job by <entry id>:<shard>", () => {
  test("read and finish: the job id, r:<id> and the finished event carry the suffix", async () => {
    await using v = await shard3();
    await plantJob(v);
    const [job] = sortFresh(await read(v, "w1"), TASKS, v.k.idSuffix).run;
    expect(job).toMatchObject({ entryId: ENTRY, jobId: ID });
    const run = { entryId: job!.entryId, jobId: job!.jobId, runMs: 3, result: "7", job: job! };
    const out = await finishRuns(v.client, v.k, FINISH, [run]);
    expect(out.codes).toEqual([1]);
    expect(await outcome(v, ID)).toMatchObject({ status: "finished", text: "7" });
    expect(await v.r.sendCommand(["EXISTS", v.k.result(ENTRY)])).toBe(0);
    expect(await events(v)).toEqual([{ type: "finished", ids: ID }]);
  });

  test("finish and fail send an auto id as '': the scripts append the shard's suffix", async () => {
    await using v = await shard3();
    await plantJob(v);
    const second = ["t", "echo", "p", "2", "a", "0", "m", "1"]; // its last attempt
    await v.r.sendCommand(["XADD", v.k.stream, "1000-2", ...second]);
    await read(v, "w1");
    const sent: string[][] = [];
    const client: Redis = {
      ...v.client,
      sendCommand: (args: readonly string[]) => {
        sent.push(args.map(String));
        return v.client.sendCommand(args);
      },
    } as Redis;
    // No job id goes over the wire for an auto id: the entry id and the suffix are it.
    const item = { entryId: ENTRY, jobId: ID, hasRecord: false, runMs: 1, attempt: 1 };
    const run = { maxAttempts: 3, enqueuedAt: null, worker: "w1", task: "echo", payload: "1" };
    await finishItems(client, v.k, FINISH, [{ ...item, ...run, result: "2" }]);
    const fake = {
      entryId: "1000-2",
      jobId: "1000-2:3",
      job: { hasRecord: false, runNo: 1, attempt: 1 },
    };
    const failure = { ...fake, runMs: 1, error: "no", retryInMs: null, rerun: false };
    const o = { ...defaults, ...FAIL, name: "w1" } as WorkerOptions;
    await failBatch(client, v.k, o, [failure as Failure], {
      compact: false,
      started: 0,
    });
    expect(sent.flat().filter((a) => a === ID || a === "1000-2:3")).toEqual([]);
    expect(sent.flat()).toContain(ENTRY); // the calls were seen
    expect(sent.flat()).toContain("1000-2");
    expect(await outcome(v, "1000-2:3")).toMatchObject({ status: "failed" });
    expect(await outcome(v, ID)).toMatchObject({ status: "finished", text: "2" });
    expect(await events(v)).toEqual([
      { type: "finished", ids: ID },
      { type: "failed", id: "1000-2:3" },
    ]);
  });

  test("fail, retry, promote, fail for good: delayed, record, history, events and the letter", async () => {
    await using v = await shard3();
    await plantJob(v, "echo", 0, 2);
    await read(v, "w1");
    const attempt = { entry: ENTRY, id: null, hasRecord: false, runNo: 1, runMs: 5 };
    const first = { ...attempt, error: "boom", retryInMs: 0 };
    expect(await failJobs(v.client, v.k, FAIL, [first])).toEqual(["retrying"]);
    expect(await v.r.sendCommand(["ZRANGE", v.k.delayed, "0", "-1"])).toEqual([ID]);
    const rec = await hgetall(v, v.k.record(ID));
    expect(rec).toMatchObject({
      status: "retrying",
      q: "1000",
      "h:1": expect.stringMatching(/^1 \d+ w1$/),
    });
    expect(await promoteDue(v.client, v.k)).toBe(1);
    // Re-added with a new entry id: the job keeps its id in `i`.
    const [again] = await streamEntries(v);
    expect(again!.f.i).toBe(ID);
    const [job] = sortFresh(await read(v, "w1"), TASKS, v.k.idSuffix).run;
    expect(job).toMatchObject({ entryId: again!.id, jobId: ID, hasRecord: true, attempt: 2 });
    const last = { entry: again!.id, id: ID, hasRecord: true, runNo: 2, runMs: 5 };
    expect(
      await failJobs(v.client, v.k, FAIL, [{ ...last, error: "bang", retryInMs: null }]),
    ).toEqual(["failed"]);
    expect((await events(v)).map((e) => [e.type, e.id ?? e.ids])).toEqual([
      ["retried", ID],
      ["failed", ID],
    ]);
    const letters = await deadLetters(v);
    expect(letters.map(([, f]) => toMap(f).id)).toEqual([ID]);
    expect(await outcome(v, ID)).toMatchObject({ status: "failed", enqueuedAt: 1000 });
    expect(await hgetall(v, v.k.record(ID))).toMatchObject({
      status: "failed",
      error: "bang",
      "h:1:x": "boom",
    });
  });

  test("a job failed for good at its first attempt: letter, failed value and event under the suffixed id", async () => {
    await using v = await shard3();
    await plantJob(v);
    await read(v, "w1");
    const attempt = { entry: ENTRY, id: null, hasRecord: false, runNo: 1, runMs: 5 };
    await failJobs(v.client, v.k, FAIL, [{ ...attempt, error: "no", retryInMs: null }]);
    expect((await deadLetters(v)).map(([, f]) => toMap(f).id)).toEqual([ID]);
    expect(await outcome(v, ID)).toMatchObject({ status: "failed", enqueuedAt: 1000 });
    expect(await events(v)).toEqual([{ type: "failed", id: ID }]);
  });

  test("a claim takes over under the suffixed id; attempts used up bury it so", async () => {
    await using v = await shard3();
    await plantJob(v, "echo", 0, 2);
    await read(v, "w0");
    const o = { minIdleMs: 0, count: 10, failureTtlS: 600, ...LIMITS };
    const taken = await claimLapsed(v.client, v.k, { ...o, consumer: "w1" });
    const [job] = sortClaimed(taken.claimed, TASKS, v.k.idSuffix).run;
    expect(job).toMatchObject({ entryId: ENTRY, jobId: ID, hasRecord: true, attempt: 2 });
    expect(await hgetall(v, v.k.record(ID))).toMatchObject({
      status: "started",
      q: "1000",
      "h:1": "1  w0",
    });
    // This worker's own pending entry after a lost read: the record is found by the same id.
    const own = await readOwnPending(v.client, v.k, { consumer: "w1", count: 10 });
    expect(own.claimed).toMatchObject([{ kind: "run", hasRecord: true }]);
    const buried = await claimLapsed(v.client, v.k, { ...o, consumer: "w2" });
    expect(buried.claimed).toEqual([{ kind: "buried", entry: ENTRY, attempt: 2, id: ID }]);
    expect((await deadLetters(v)).map(([, f]) => toMap(f).id)).toEqual([ID]);
    expect(await outcome(v, ID)).toMatchObject({ status: "failed", enqueuedAt: 1000 });
    expect(await events(v)).toEqual([{ type: "failed", id: ID }]);
  });

  test("a claim finds an outcome under the suffixed id: the duplicate entry is done", async () => {
    await using v = await shard3();
    await plantJob(v);
    await read(v, "w0");
    await v.r.sendCommand(["SET", v.k.result(ID), 'F1 1 1 3 - "w"\n"echo"\n1\n2']);
    const o = { minIdleMs: 0, count: 10, failureTtlS: 600, ...LIMITS, consumer: "w1" };
    expect((await claimLapsed(v.client, v.k, o)).claimed).toEqual([{ kind: "done", entry: ENTRY }]);
  });

  test("release re-adds the job with its suffixed id and writes its record so", async () => {
    await using v = await shard3();
    await plantJob(v);
    await read(v, "w1");
    expect(await releaseAll(v.client, v.k, "w1")).toBe(1);
    const [back] = await streamEntries(v);
    expect(back!.f.i).toBe(ID);
    expect(await hgetall(v, v.k.record(ID))).toMatchObject({
      status: "queued",
      e: back!.id,
      q: "1000",
    });
  });

  test("leave parks the job under its suffixed id", async () => {
    await using v = await shard3();
    await plantJob(v, "other");
    const s = sortFresh(await read(v, "w1"), TASKS, v.k.idSuffix);
    expect(s.lacked).toEqual([{ entryId: ENTRY, jobId: ID, task: "other" }]);
    const left = s.lacked.map((l) => ({ entry: l.entryId, id: null, task: l.task }));
    expect(await leaveForOthers(v.client, v.k, "w1", [0], left)).toEqual(["parked"]);
    expect(await v.r.sendCommand(["ZRANGE", `${v.k.parkedPrefix}other`, "0", "-1"])).toEqual([ID]);
    expect(await hgetall(v, v.k.record(ID))).toMatchObject({
      status: "queued",
      waiting_for: "other",
      q: "1000",
    });
  });

  test("an entry that fails the check is buried under its suffixed id", async () => {
    await using v = await shard3();
    await v.r.sendCommand(["XADD", v.k.stream, ENTRY, "p", "1", "a", "0", "m", "3"]);
    const { bad } = sortFresh(await read(v, "w1"), TASKS, v.k.idSuffix);
    expect(bad).toEqual([{ entryId: ENTRY, id: ID, problem: "no task" }]);
    expect(
      await buryEntries(v.client, v.k, { consumer: "w1", failureTtlS: 600, ...LIMITS }, bad),
    ).toEqual([1]);
    expect((await deadLetters(v)).map(([, f]) => toMap(f).id)).toEqual([ID]);
    expect(await outcome(v, ID)).toMatchObject({ status: "failed" });
  });

  test("requeue of the letter: the new entry keeps the suffixed id, the record its enqueue time", async () => {
    await using v = await shard3();
    await plantJob(v);
    await read(v, "w1");
    const attempt = { entry: ENTRY, id: null, hasRecord: false, runNo: 1, runMs: 5 };
    await failJobs(v.client, v.k, FAIL, [{ ...attempt, error: "no", retryInMs: null }]);
    const [[letter]] = (await deadLetters(v)) as [[string, string[]]];
    expect(await requeueLetters(v.client, v.k, [{ letter, id: ID }], 3)).toEqual([
      { id: ID, verdict: "requeued" },
    ]);
    const [back] = await streamEntries(v);
    expect(back!.f.i).toBe(ID);
    expect(await hgetall(v, v.k.record(ID))).toMatchObject({
      status: "queued",
      q: "1000",
      e: back!.id,
    });
  });
});
