// The dashboard's failures list (`/api/failures`, and every live snapshot) reads what a row
// shows, bounded whatever the payload's or the error's size (the G1 review): it read each job's
// whole outcome, payload included, and its record's (20 jobs of 20 MB took the dashboard from
// 78 to 1,071 MB a request). A spy counts the bytes of every reply on the connection.
import { expect, test } from "bun:test";
import { QueueShards } from "../lib/admin/queue-shards.ts";
import { recentFailures } from "../lib/admin/queue-view.ts";
import { failJobs } from "../lib/engine/fail.ts";
import { promoteDue } from "../lib/engine/promote.ts";
import { deliver, type EngineQueue, engineQueue, failedAttempt, plant } from "./fixtures/plant.ts";

const OPTS = { consumer: "w1", failureTtlS: 600, deadMaxLen: 1000, eventsMaxLen: 1000 };
const MB = 1_000_000;
const big = JSON.stringify("x".repeat(MB));

/** Bytes of strings in a reply, however nested. */
function weigh(v: unknown): number {
  if (typeof v === "string") return v.length;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + weigh(x), 0);
  return 0;
}

function spy(v: EngineQueue) {
  const seen = { total: 0 };
  const send = v.r.sendCommand.bind(v.r) as (...a: unknown[]) => Promise<unknown>;
  v.r.sendCommand = (async (...args: unknown[]) => {
    const reply = await send(...args);
    seen.total += weigh(reply);
    return reply;
  }) as typeof v.r.sendCommand;
  return seen;
}

test("failures of jobs of 1 MB: task, status, attempt, error and runAt read; no payload", async () => {
  await using v = await engineQueue();
  const [retried, again, failed, huge] = [
    await plant(v, { t: "echo", p: big, m: 3 }),
    await plant(v, { t: "echo", p: big, m: 3 }),
    await plant(v, { t: "echo", p: big, m: 1 }),
    await plant(v, { t: "echo", p: big, m: 1 }),
  ];
  await deliver(v, "w1");
  const hugeError = "e".repeat(MB);
  await failJobs(v.client, v.k, OPTS, [
    failedAttempt(retried, { retryInMs: 60_000, error: "try again" }),
    failedAttempt(again, { retryInMs: 60_000, error: "once more" }),
    failedAttempt(failed, { retryInMs: null, error: "boom\n  at line 2" }),
    failedAttempt(huge, { retryInMs: null, error: hugeError }),
  ]);
  // Due now, and back in the stream: queued, its entry (and payload) there.
  await v.r.sendCommand(["ZADD", v.k.delayed, "0", again]);
  expect(await promoteDue(v.client, v.k)).toBe(1);
  const prefix = v.k.stream.slice(0, v.k.stream.indexOf(":{"));
  const seen = spy(v);
  const rows = await recentFailures(new QueueShards(v.client, prefix, "q"), 20);
  const byId = new Map(rows.map((f) => [f.id, f.job]));
  const r = byId.get(retried)!;
  expect([r.task, r.status, r.history.at(-1)?.error, r.attempts]).toEqual([
    "echo",
    "retrying",
    "try again",
    1,
  ]);
  expect(r.runAt).toBeGreaterThan(Date.now());
  const a = byId.get(again)!;
  expect([a.task, a.status, a.history.at(-1)?.error, a.attempts]).toEqual([
    "echo",
    "queued",
    "once more",
    1,
  ]);
  const f = byId.get(failed)!;
  expect([f.task, f.status, f.error, f.attempts]).toEqual([
    "echo",
    "failed",
    "boom\n  at line 2",
    1,
  ]);
  // An error past the bound: its last part, marked cut.
  const h = byId.get(huge)!;
  expect([h.task, h.status, h.attempts]).toEqual(["echo", "failed", 1]);
  expect(h.error!.startsWith("…e")).toBe(true);
  expect(h.error!.length).toBeLessThan(10_000);
  for (const job of [r, a, f, h]) expect(job.payload).toBeNull();
  expect(seen.total).toBeLessThan(100_000);
});
