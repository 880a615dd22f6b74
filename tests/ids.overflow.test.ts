// An id of the auto form whose numbers do not fit a stream id (ms or seq past 2^64 - 1) names no
// job: it reads as unknown everywhere (lib/engine/keys.ts isAutoId, status.lua is_entry), never
// as a stack trace or a 500.
import { afterEach, describe, expect, test } from "bun:test";
import { startDashboard } from "../lib/dashboard/server.ts";
import { autoIdMs, isAutoId } from "../lib/engine/keys.ts";
import { openQueue, rawRedis, redisUrl, runCli, testPrefix } from "./helpers.ts";

const TOO_BIG = ["99999999999999999999-1", "1-18446744073709551616", "18446744073709551616-0"];
const STACK_FRAME = /^\s+at .+:\d+/m;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

describe("auto ids within a stream id's range", () => {
  test.each([
    ["1-1", true],
    ["18446744073709551615-18446744073709551615", true],
    ["1764423456789-0:2", true],
    ...TOO_BIG.map((id) => [id, false] as [string, boolean]),
    ["job-1", false],
  ])("isAutoId(%p) is %p", (id, auto) => {
    expect(isAutoId(id)).toBe(auto);
    if (!auto) expect(autoIdMs(id)).toBeNull();
  });
});

describe("an id past the range reads as unknown", () => {
  test("Queue.getJobs: null for each, the rest of the batch read (a record's `e` past it too)", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const [job] = await q.enqueueMany([{ task: "echo", payload: {} }]);
    await using r = await rawRedis();
    await r.sendCommand(["HSET", `${prefix}:{default}:job:odd`, "e", TOO_BIG[0]!]);
    const read = await q.getJobs([...TOO_BIG, job!.id, "odd"]);
    expect(read.slice(0, 3)).toEqual([null, null, null]);
    expect(read[3]).toMatchObject({ id: job!.id, status: "queued" });
    expect(await q.getJob(TOO_BIG[0]!)).toBeNull();
  });

  test("result exits 4, dead show and dead requeue say no letter; no stack trace", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await q.enqueueMany([{ task: "echo", payload: {} }]); // the queue exists
    const result = await runCli("result", ["--prefix", prefix, "--jobid", TOO_BIG[0]!]);
    expect([result.code, STACK_FRAME.test(result.stderr)]).toEqual([4, false]);
    const show = await runCli("dead", ["show", "--prefix", prefix, TOO_BIG[0]!]);
    expect([show.code, STACK_FRAME.test(show.stderr)]).toEqual([4, false]);
    const requeue = await runCli("dead", ["requeue", "--prefix", prefix, TOO_BIG[0]!]);
    expect([requeue.code, STACK_FRAME.test(requeue.stderr)]).toEqual([4, false]);
  });

  test("the dashboard answers 404", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await q.enqueueMany([{ task: "echo", payload: {} }]);
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
    stops.push(() => d.stop());
    const res = await fetch(`${d.url}/api/jobs/${TOO_BIG[0]}`);
    expect(res.status).toBe(404);
  });
});
