// Times past a JavaScript Date's range (8.64e15 ms) read as unknown (lib/time.ts dateMs,
// isoOrNull): `-` or left out in text, null in JSON, never `RangeError: Invalid Date`. Redis
// holds them easily: a stream id's ms goes up to 2^64 - 1, a record's field holds any digits.
import { afterEach, describe, expect, test } from "bun:test";
import { startDashboard } from "../lib/dashboard/server.ts";
import { autoIdMs, queueKeys } from "../lib/engine/keys.ts";
import { dateMs, isoOrNull } from "../lib/time.ts";
import { oneShardFile, openQueue, rawRedis, redisUrl, runCli, testPrefix } from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

const PAST_DATES = "9000000000000000"; // ms past 8.64e15, within a stream id's range
const STACK_FRAME = /^\s+at .+:\d+/m;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

describe("dateMs and isoOrNull", () => {
  test.each([
    [0, "1970-01-01T00:00:00.000Z"],
    [1_764_423_456_789, "2025-11-29T13:37:36.789Z"],
    [8.64e15, "+275760-09-13T00:00:00.000Z"],
    [-8.64e15, "-271821-04-20T00:00:00.000Z"],
    [8.64e15 + 1, null],
    [Number(PAST_DATES), null],
    [Number("99999999999999999"), null],
    [Number.NaN, null],
    [Number.POSITIVE_INFINITY, null],
    [null, null],
    [undefined, null],
  ])("%p → %p", (ms, iso) => {
    expect(isoOrNull(ms)).toBe(iso);
    expect(dateMs(ms)).toBe(iso === null ? null : (ms as number));
  });

  test("autoIdMs: an auto id past the date range tells no time", () => {
    expect(autoIdMs(`${PAST_DATES}-0`)).toBeNull();
    expect(autoIdMs("8640000000000000-0")).toBe(8.64e15);
  });
});

/** A queue with a job of entry id <PAST_DATES>-0, a job whose history's times are past the range, their letters and failure events. */
async function plantPastDates(prefix: string) {
  await using q = await openQueue({ prefix });
  await q.enqueueMany([{ id: "big-1", task: "echo", payload: {} }]);
  const keys = queueKeys(prefix, "default");
  await using r = await rawRedis();
  const auto = `${PAST_DATES}-0`;
  await r.sendCommand(["XADD", keys.stream, auto, "t", "echo", "p", "{}", "a", "0", "m", "3"]);
  await r.sendCommand(["HSET", keys.record("big-1"), "h:1", `1 ${PAST_DATES} w1`]);
  await r.sendCommand(["HSET", keys.record("big-1"), "h:1:e", "99999999999999999 retrying"]);
  await r.sendCommand(["HSET", keys.record("big-1"), "h:1:x", "boom"]);
  const letter = ["id", "big-1", "task", "echo", "error", "boom", "attempts", "1", "payload", "{}"];
  await r.sendCommand(["XADD", keys.dead, auto, ...letter]);
  await r.sendCommand(["XADD", keys.events, auto, "type", "failed", "id", "big-1"]);
  return auto;
}

describe("CLI and dashboard with times past the range", () => {
  test("result (text, --json, --wait), dead list and show: no stack trace, the time unknown", async () => {
    const prefix = testPrefix();
    const auto = await plantPastDates(prefix);
    const text = await runCli("result", ["--prefix", prefix, "--jobid", auto]);
    expect([text.code, STACK_FRAME.test(text.stderr)]).toEqual([3, false]);
    expect(text.stdout).not.toContain("enqueued");
    const json = await runCli("result", ["--prefix", prefix, "--jobid", auto, "--json"]);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: auto, enqueuedAt: null });
    const history = await runCli("result", ["--prefix", prefix, "--jobid", "big-1", "--json"]);
    expect(history.code).toBe(3);
    expect(JSON.parse(history.stdout).history[0]).toMatchObject({
      attempt: 1,
      startedAt: null,
      endedAt: null,
      error: "boom",
    });
    const waited = await runCli("result", ["--prefix", prefix, "--jobid", "big-1", "--wait", "0"]);
    expect(STACK_FRAME.test(waited.stderr)).toBe(false);
    expect(waited.code).not.toBe(70);
    const list = await runCli("dead", ["list", "--prefix", prefix]);
    expect([list.code, STACK_FRAME.test(list.stderr)]).toEqual([0, false]);
    expect(list.stdout).toMatch(/^big-1 +echo +1 +- +boom$/m);
    const listed = await runCli("dead", ["list", "--prefix", prefix, "--json"]);
    expect(JSON.parse(listed.stdout).letters[0]).toMatchObject({ id: "big-1", deadAt: null });
    const show = await runCli("dead", ["show", "--prefix", prefix, "big-1"]);
    expect([show.code, STACK_FRAME.test(show.stderr)]).toEqual([0, false]);
    expect(show.stdout).toContain("died:      -");
  });

  test("Queue.getJob: the times are null, not numbers a Date cannot hold", async () => {
    const prefix = testPrefix();
    const auto = await plantPastDates(prefix);
    await using q = await openQueue({ prefix });
    expect((await q.getJob(auto))?.enqueuedAt).toBeNull();
    const [run] = (await q.getJob("big-1"))!.history;
    expect(run).toMatchObject({ attempt: 1, startedAt: null, endedAt: null, error: "boom" });
  });

  test("the dashboard: the job, the dead letters and the failures answer 200, the times null", async () => {
    const prefix = testPrefix();
    const auto = await plantPastDates(prefix);
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
    stops.push(() => d.stop());
    const job = await fetch(`${d.url}/api/jobs/${auto}`);
    expect(job.status).toBe(200);
    expect(await job.json()).toMatchObject({ id: auto, enqueuedAt: null });
    const big = await fetch(`${d.url}/api/jobs/big-1`);
    expect(big.status).toBe(200);
    expect((await big.json()).history[0]).toMatchObject({ startedAt: null, endedAt: null });
    const dead = await fetch(`${d.url}/api/dead`);
    expect(dead.status).toBe(200);
    expect((await dead.json()).letters[0]).toMatchObject({ id: "big-1", deadAt: null });
    const failures = await fetch(`${d.url}/api/failures`);
    expect(failures.status).toBe(200);
    expect((await failures.json()).failures[0]).toMatchObject({ id: "big-1", at: null });
  });
});
