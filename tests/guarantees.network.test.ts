// A read whose reply is lost (the network cut after Redis delivered the entry) leaves the entry
// pending on a consumer that never saw it. The worker must look at its own pending entries
// after any failed read and start them at once, not wait claimIdleMs for a claim
// (docs/internals.md, "Start"), and never start a second copy of one it is running.
import { describe, expect, test } from "bun:test";
import { defineTask } from "../lib/types.ts";
import { viaProxy } from "./fixtures/proxy.ts";
import {
  logRecorder,
  openQueue,
  pendingCount,
  rawRedis,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

describe("a lost read", () => {
  test("the entry delivered into the void is started at once after the read fails", async () => {
    const prefix = testPrefix();
    const { proxy, url } = viaProxy();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const log = logRecorder();
    const ok = defineTask({ name: "ok", run: async () => "ok" });
    // A one-minute lease: a claim of the lapsed entry cannot be what runs the job here.
    const w = await startWorker({
      prefix,
      tasks: [ok],
      redisUrl: url,
      logger: log,
      concurrency: 1,
      claimIdleMs: 60_000,
      blockMs: 1_000,
      // The stall watchdog's limit, and the worker's connect limit too (Link.open): under a
      // loaded suite, connecting and its checks through the proxy can take more than 300 ms.
      commandTimeoutMs: 1_500,
    });
    try {
      const blocked = async () =>
        String(await r.sendCommand(["CLIENT", "LIST"]))
          .split("\n")
          .some((c) => c.includes(`name=courier-reader-${w.name} `) && / flags=b /.test(c));
      await until(blocked, "the worker's blocking read");
      proxy.stall(); // the cable is cut: the read's reply will never arrive
      const id = await q.enqueue("ok", null);
      const pending = () => pendingCount(r, q.keys);
      await until(async () => (await pending()) === 1, "Redis to deliver the entry");
      proxy.resume(); // new connections get through; the stalled read stays lost
      const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
      expect(ended.get(id)).toMatchObject({ status: "finished", attempts: 1, worker: w.name });
      expect(log.records.some((e) => e.fields.connection === "blocking")).toBe(true);
    } finally {
      await w.stop();
      proxy.close();
    }
  });

  test("an entry this worker is running comes back with the lost read's, and is not run twice", async () => {
    const prefix = testPrefix();
    const { proxy, url } = viaProxy();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const ok = defineTask({ name: "ok", run: async () => "ok" });
    let slowRuns = 0;
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = defineTask({
      name: "slow",
      run: async () => {
        slowRuns++;
        await gate;
        return "once";
      },
    });
    const w = await startWorker({
      prefix,
      tasks: [ok, slow],
      redisUrl: url,
      concurrency: 2,
      claimIdleMs: 60_000,
      blockMs: 1_000,
      // The stall watchdog's limit, and the worker's connect limit too (Link.open): under a
      // loaded suite, connecting and its checks through the proxy can take more than 300 ms.
      commandTimeoutMs: 1_500,
    });
    try {
      const slowId = await q.enqueue("slow", null);
      await until(() => slowRuns === 1, "the slow job to start");
      const blocked = async () =>
        String(await r.sendCommand(["CLIENT", "LIST"]))
          .split("\n")
          .some((c) => c.includes(`name=courier-reader-${w.name} `) && / flags=b /.test(c));
      await until(blocked, "the worker's blocking read for its free slot");
      proxy.stall();
      const id = await q.enqueue("ok", null);
      await until(async () => (await pendingCount(r, q.keys)) === 2, "Redis to deliver the entry");
      proxy.resume();
      // The worker reads its own pending entries: the slow job's (running) and the lost one.
      const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
      expect(ended.get(id)).toMatchObject({ status: "finished", attempts: 1 });
      release();
      const { ended: slowEnded } = await q.waitForJobs([slowId], { timeoutMs: 10_000 });
      expect(slowEnded.get(slowId)).toMatchObject({ status: "finished", attempts: 1 });
      expect(slowRuns).toBe(1);
    } finally {
      release();
      await w.stop();
      proxy.close();
    }
  });
});
