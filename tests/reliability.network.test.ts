// A network cut between a worker and Redis, through a loopback proxy that drops or stalls
// connections. The worker must notice within a bounded time and reconnect; each of its jobs
// is finished by it or taken over by another worker, never recorded twice.
import { describe, expect, test } from "bun:test";
import { queueKeys } from "../lib/engine/keys.ts";
import { defineTask } from "../lib/types.ts";
import { viaProxy } from "./fixtures/proxy.ts";
import {
  logRecorder,
  nodeUrlOf,
  openQueue,
  pinShards,
  rawRedis,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

// A proxy stands for one server: the queue has one shard, and on a cluster the proxy leads to
// the master of its slot.
pinShards(1);

describe("network cut", () => {
  test("connections dropped mid-job: the worker reconnects and records every job once", async () => {
    const prefix = testPrefix();
    const { proxy, url } = viaProxy(await nodeUrlOf(queueKeys(prefix, "default").stream));
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    let started = 0;
    const slow = defineTask({
      name: "slow",
      run: async (n: number) => {
        started++;
        await Bun.sleep(150);
        return n * 2;
      },
    });
    const w = await startWorker({ prefix, tasks: [slow], redisUrl: url, concurrency: 4 });
    const ids = (
      await q.enqueueMany([1, 2, 3, 4, 5, 6, 7, 8].map((n) => ({ task: "slow", payload: n })))
    ).map((e) => e.id);
    await until(() => started >= 4, "the first jobs to start");
    proxy.drop(); // every connection of the worker is reset while four jobs run
    const { ended, pending } = await q.waitForJobs(ids, { timeoutMs: 15_000 });
    expect(pending).toEqual([]);
    // By id: the wait's map holds the jobs in the order it saw them end.
    expect(ids.map((id) => ended.get(id)?.result)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    expect(await r.sendCommand(["HGET", q.keys.stats, "finished"])).toBe("8");
    await w.stop();
    proxy.close();
  });

  test("a stalled connection is noticed within commandTimeoutMs; another worker takes the job over", async () => {
    const prefix = testPrefix();
    const { proxy, url } = viaProxy(await nodeUrlOf(queueKeys(prefix, "default").stream));
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const runs: string[] = [];
    // The cut-off worker's run lasts until it is given up (its signal fires).
    const job = (name: string) =>
      defineTask({
        name: "job",
        run: (_p: null, signal) => {
          runs.push(name);
          if (name !== "cut") return Promise.resolve(name);
          return new Promise<string>((resolve) => {
            signal.addEventListener("abort", () => resolve(name));
          });
        },
      });
    const log = logRecorder();
    const otherLog = logRecorder();
    // The lease (1.5 s, renewed every 0.5 s) lapses 1 to 1.5 s after the cut; the stall must
    // be noticed long before, after commandTimeoutMs (0.3 s) and a promote tick.
    const timing = { claimIdleMs: 1_500, commandTimeoutMs: 300, blockMs: 100 };
    const cut = await startWorker({
      prefix,
      tasks: [job("cut")],
      redisUrl: url,
      logger: log,
      ...timing,
    });
    const id = await q.enqueue("job", null);
    await until(() => runs.length === 1, "the job to start on the worker behind the proxy");
    proxy.stall();
    const other = await startWorker({ prefix, tasks: [job("other")], ...timing, logger: otherLog });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", result: "other", attempts: 2 });
    const noticed = log.records.find((e) => e.event === "redis connection stalled; reconnecting");
    const claimed = otherLog.records.find((e) => e.event === "claimed");
    // Bounded by events, not by a clock: noticed before its lease lapsed and the other worker
    // took the job over.
    expect(noticed).toBeDefined();
    expect(claimed).toBeDefined();
    expect(noticed!.at).toBeLessThan(claimed!.at);
    proxy.resume();
    // Back online, the cut-off worker learns that its lease is gone and gives the job up (or,
    // had it finished first, would find the result already recorded): never a second result.
    const settled = (e: { event: string }) =>
      e.event.startsWith("lease lost") || e.event.startsWith("finished");
    await until(() => log.records.some(settled), "the cut-off worker to settle its run");
    expect(log.records.filter(settled).map((e) => e.event)).toEqual([
      expect.stringMatching(/^lease lost|^finished \(duplicate run/),
    ]);
    expect(await q.getJob(id)).toMatchObject({ result: "other" });
    expect(await r.sendCommand(["HGET", q.keys.stats, "finished"])).toBe("1");
    await Promise.all([cut.stop(), other.stop()]);
    proxy.close();
  });
});
