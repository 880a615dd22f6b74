// The dashboard's latest failures: each row is a failed attempt, and its outcome says what the
// failure led to and what became of the job since, so a job retried or requeued that then
// finished does not read as `finished` in a list of failures.
import { afterEach, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { failureOutcome } from "../lib/dashboard/api-reads.ts";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { PermanentError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import { openQueue, redisUrl, startWorker, testPrefix, until } from "./helpers.ts";

const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

let healed = false;
/** `once`: fails its first attempt (to be retried); `dead`: fails for good until healed. */
const flaky = defineTask({
  name: "flaky",
  run: async (p: { mode: "once" | "dead" }, _signal, job) => {
    if (p.mode === "once" && job.attempt === 1) throw new Error("first try");
    if (p.mode === "dead" && !healed) throw new PermanentError("broken");
    return "ok";
  },
});

test("a job retried or requeued, then finished: its failure row says so", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const [once, requeued, dead] = await q.enqueueMany([
    { task: "flaky", payload: { mode: "once" } },
    { task: "flaky", payload: { mode: "dead" } },
    { task: "flaky", payload: { mode: "dead" } },
  ]);
  const ids = [once!.id, requeued!.id, dead!.id];
  let w = await startWorker({ prefix, tasks: [flaky] });
  await q.waitForJobs(ids, { timeoutMs: 10_000 });
  await w.stop();
  healed = true;
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
  try {
    expect(await admin.requeue([requeued!.id])).toEqual([
      { id: requeued!.id, verdict: "requeued" },
    ]);
  } finally {
    await admin.close();
  }
  w = await startWorker({ prefix, tasks: [flaky] });
  await q.waitForJobs([requeued!.id], { timeoutMs: 10_000 });
  await w.stop();

  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  running.push(d);
  const { failures } = await (await fetch(`${d.url}/api/failures`)).json();
  const row = (id: string) => failures.find((f: { id: string }) => f.id === id);
  expect(row(once!.id)).toMatchObject({
    type: "retried",
    status: "finished",
    outcome: "failed, then retried and finished",
    attempt: 1,
    error: "first try",
  });
  expect(row(requeued!.id)).toMatchObject({
    type: "failed",
    status: "finished",
    outcome: "failed, then requeued and finished",
    error: "broken",
  });
  expect(row(dead!.id)).toMatchObject({ type: "failed", status: "failed", outcome: "failed" });
});

test("a job that will retry: its failure row says when it runs again", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const id = await q.enqueue("flaky", { mode: "once" });
  // An hour's back-off: the job waits, retrying, long past this test.
  const hour = { backoffBaseMs: 3_600_000, backoffMaxMs: 3_600_000 };
  const w = await startWorker({ prefix, tasks: [flaky], ...hour });
  await until(async () => (await q.getJob(id))?.status === "retrying", "the first attempt failed");
  await w.stop();
  const runAt = new Date((await q.getJob(id))!.runAt!).toISOString();
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  running.push(d);
  const { failures } = await (await fetch(`${d.url}/api/failures`)).json();
  expect(failures).toEqual([expect.objectContaining({ id, outcome: "failed, will retry", runAt })]);
});

test.each([
  ["failed", "failed", "failed"],
  ["failed", "finished", "failed, then requeued and finished"],
  ["failed", "queued", "failed, then requeued (queued)"],
  ["retried", "retrying", "failed, will retry"],
  ["retried", "started", "failed, retried (started)"],
  ["retried", "finished", "failed, then retried and finished"],
  ["retried", "failed", "failed, retried, then failed for good"],
] as const)("a %s failure of a job now %s: %s", (type, status, label) => {
  expect(failureOutcome(type, status)).toBe(label);
});
