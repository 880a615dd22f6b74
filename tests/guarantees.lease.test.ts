// Lease renewal, watched from Redis: a running job's pending entry has its idle time reset
// well inside claimIdleMs (docs/internals.md, "Lease and run": every claimIdleMs / 3), and
// renewing never counts as a delivery (attempts come from delivery counts).
import { describe, expect, test } from "bun:test";
import { GROUP } from "../lib/engine/keys.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { defineTask } from "../lib/types.ts";
import type { RawRedis } from "./helpers.ts";
import { oneShardFile, openQueue, rawRedis, startWorker, testPrefix, until } from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

/** A task that runs until `open()`. */
function held() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let started = false;
  const task = defineTask({
    name: "held",
    run: async () => {
      started = true;
      await gate;
      return "done";
    },
  });
  return { task, open, started: () => started };
}

/** Claim scans only as the worker starts: only renewals reset the entry's idle time. */
const NO_SCANS = 1_000_000_000;

interface Pending {
  idleMs: number;
  deliveries: number;
}

/** The only pending entry of the queue: its idle time and delivery count. */
async function onlyPending(r: RawRedis, q: Queue): Promise<Pending> {
  const rows = (await r.sendCommand(["XPENDING", q.keys.stream, GROUP, "-", "+", "10"])) as [
    string,
    string,
    number,
    number,
  ][];
  expect(rows).toHaveLength(1);
  return { idleMs: Number(rows[0]![2]), deliveries: Number(rows[0]![3]) };
}

/**
 * Samples the entry until `renewals` renewals were seen (its idle time went down), calling
 * `check` on every sample; returns the largest idle time seen.
 */
async function watchRenewals(
  r: RawRedis,
  q: Queue,
  renewals: number,
  check: (p: Pending) => void,
): Promise<number> {
  let seen = 0;
  let last = -1;
  let most = 0;
  await until(
    async () => {
      const p = await onlyPending(r, q);
      check(p);
      if (p.idleMs < last) seen++;
      last = p.idleMs;
      most = Math.max(most, p.idleMs);
      return seen >= renewals;
    },
    `${renewals} lease renewals`,
    20_000,
  );
  return most;
}

describe("lease renewal", () => {
  test("does not bump the entry's delivery count", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const job = held();
    // Renewed every 30 ms. No claim scans after the first: a worker's claim of its own lapsed
    // entry (a renewal come late on a busy machine) is a delivery.
    const w = await startWorker({
      prefix,
      tasks: [job.task],
      claimIdleMs: 90,
      reclaimEveryMs: NO_SCANS,
    });
    const id = await q.enqueue("held", null);
    await until(job.started, "the job to start");
    await watchRenewals(r, q, 4, (p) => expect(p.deliveries).toBe(1));
    job.open();
    expect((await q.waitForJobs([id], { timeoutMs: 5_000 })).ended.get(id)).toMatchObject({
      status: "finished",
      attempts: 1,
    });
    await w.stop();
  });

  test("happens well inside the lease: the entry is never idle for half of claimIdleMs", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const job = held();
    // Renewed every 800 ms (a third). A renewal only at claimIdleMs would leave the entry idle
    // for all of it; the bound (1200 ms) leaves 400 ms for timers on a busy machine.
    const claimIdleMs = 2_400;
    const w = await startWorker({
      prefix,
      tasks: [job.task],
      claimIdleMs,
      reclaimEveryMs: NO_SCANS,
    });
    const id = await q.enqueue("held", null);
    await until(job.started, "the job to start");
    // Never idle as long as a claim needs (renewed every claimIdleMs / 3; half of it was a bound
    // on the timer's promptness, which a loaded machine can miss by 400 ms).
    const most = await watchRenewals(r, q, 2, (p) => expect(p.idleMs).toBeLessThan(claimIdleMs));
    expect(most).toBeGreaterThan(0);
    job.open();
    expect((await q.waitForJobs([id], { timeoutMs: 5_000 })).ended.get(id)?.status).toBe(
      "finished",
    );
    await w.stop();
  });
});
