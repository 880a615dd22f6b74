// A job that ended while it waited outside the stream is not run again. A worker that stalls
// past its lease (a task that blocks the event loop, a long GC pause) is taken over; when the
// newer run fails and is retried, the job waits in `delayed`, and the stalled run, waking up,
// may still finish first: its result is recorded (the first finisher's outcome wins). The
// job's record still says `retrying`, and promote.lua put it back in the stream: the job ran
// once more after it had finished, its result a duplicate's. The same for a parked job
// (serve.lua). Now neither re-adds a job that has its outcome, and the record lives as long
// as that outcome (the stalled finish, not knowing of the record, expired none).
import { expect, test } from "bun:test";
import { claimLapsed } from "../lib/engine/claim.ts";
import { failJobs } from "../lib/engine/fail.ts";
import { promoteSome } from "../lib/engine/promote.ts";
import { serveTasks } from "../lib/engine/serve.ts";
import { finishItems } from "./fixtures/finish.ts";
import { deliver, type EngineQueue, engineQueue, plant } from "./fixtures/plant.ts";

const LIMITS = { deadMaxLen: 100, eventsMaxLen: 100 };

/** Run 1 on `A` stalls; `B` claims the job, its run 2 fails and is retried at once. */
async function staleAndRetried(v: EngineQueue): Promise<string> {
  const entry = await plant(v, { t: "echo", p: "1", a: 0, m: 5 });
  await deliver(v, "A");
  const claim = { consumer: "B", minIdleMs: 0, count: 10, failureTtlS: 600, ...LIMITS };
  const claimed = await claimLapsed(v.client, v.k, claim);
  expect(claimed.claimed.map((c) => c.kind)).toEqual(["run"]);
  const failed = { entry, id: null, hasRecord: true, runNo: 2, runMs: 1, error: "e", retryInMs: 0 };
  const o = { consumer: "B", failureTtlS: 600, ...LIMITS };
  expect(await failJobs(v.client, v.k, o, [failed])).toEqual(["retrying"]);
  // The stalled run 1 wakes and finishes: recorded, the first outcome of the job.
  const run = { entryId: entry, jobId: entry, hasRecord: false, runMs: 9, attempt: 1 };
  const w = { consumer: "A", resultTtlS: 300, eventsMaxLen: 100 };
  const item = { ...run, maxAttempts: 5, task: "echo", payload: "1", result: '"stale"' };
  expect((await finishItems(v.client, v.k, w, [item])).codes).toEqual([1]);
  return entry;
}

async function recordTtl(v: EngineQueue, id: string): Promise<number> {
  return Number(await v.r.sendCommand(["TTL", v.k.recordPrefix + id]));
}

test("promote: a retried job that finished meanwhile is not put back in the stream", async () => {
  await using v = await engineQueue();
  const id = await staleAndRetried(v);
  expect(await v.r.sendCommand(["ZRANGE", v.k.delayed, "0", "-1"])).toEqual([id]);
  expect(await recordTtl(v, id)).toBe(-1);
  expect(await promoteSome(v.client, v.k)).toEqual({ moved: 0, more: false });
  expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(0);
  expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(0);
  // The record now goes with the outcome (resultTtlS 300), not kept for ever.
  const ttl = await recordTtl(v, id);
  expect(ttl).toBeGreaterThan(290);
  expect(ttl).toBeLessThanOrEqual(300);
});

test("serve: a parked job that finished meanwhile is not put back in the stream", async () => {
  await using v = await engineQueue();
  const id = await staleAndRetried(v);
  // As a job left for a worker with its task: parked, its record `queued`.
  await v.r.sendCommand(["ZREM", v.k.delayed, id]);
  await v.r.sendCommand(["HSET", v.k.recordPrefix + id, "status", "queued"]);
  await v.r.sendCommand(["ZADD", `${v.k.parkedPrefix}echo`, "1", id]);
  expect(await serveTasks(v.client, v.k, ["echo"], 60_000)).toEqual({ moved: 0, more: false });
  expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(0);
  expect(await v.r.sendCommand(["EXISTS", `${v.k.parkedPrefix}echo`])).toBe(0);
  expect(await recordTtl(v, id)).toBeGreaterThan(290);
});

// A string there that is no outcome (a hand edit, another program) is no reason to drop the
// job: it runs, and its finish dead-letters it as corrupt (r1: the job was in no set, no stream).
test("a retried or parked job whose result key holds a string that is no outcome is re-added", async () => {
  await using v = await engineQueue();
  const id = await staleAndRetried(v);
  await v.r.sendCommand(["SET", v.k.resultPrefix + id, "hello"]);
  expect(await promoteSome(v.client, v.k)).toEqual({ moved: 1, more: false });
  expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(1);
  await v.r.sendCommand(["HSET", v.k.recordPrefix + id, "status", "queued"]);
  await v.r.sendCommand(["ZADD", `${v.k.parkedPrefix}echo`, "1", id]);
  expect(await serveTasks(v.client, v.k, ["echo"], 60_000)).toEqual({ moved: 1, more: false });
  expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(2);
});

test("a retried job with no outcome is promoted as before", async () => {
  await using v = await engineQueue();
  const entry = await plant(v, { t: "echo", p: "1", a: 0, m: 5 });
  await deliver(v, "B");
  const failed = {
    ...{ entry, id: null, hasRecord: false },
    runNo: 1,
    runMs: 1,
    error: "e",
    retryInMs: 0,
  };
  const o = { consumer: "B", failureTtlS: 600, ...LIMITS };
  expect(await failJobs(v.client, v.k, o, [failed])).toEqual(["retrying"]);
  expect(await promoteSome(v.client, v.k)).toEqual({ moved: 1, more: false });
  expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(1);
});
