// The first enqueue and the first finish on a promoted replica (issue 12, research §5 test 10),
// through Queue and Worker: the replica never cached the scripts its master ran (SCRIPT EXISTS
// 0), and both calls still succeed with no manual loading (NOSCRIPT → EVAL, lib/engine/lua.ts).
// One failover on a fresh 3+3 cluster.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { shardKeys, shardOf } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { Queue } from "../lib/queue/queue.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { defineTask } from "../lib/types.ts";
import { Worker } from "../lib/worker/worker.ts";
import { onPort } from "./fixtures/on-port.ts";
import { testPrefix } from "./helpers.ts";

let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await startCluster({ fullCoverage: false });
});

afterAll(async () => {
  await cluster?.stop();
});

/** A caller id of shard `s` of 6 that no other call used. */
function idOn(s: number, tag: string): string {
  for (let k = 0; ; k++) if (shardOf(`${tag}-${k}`, 6) === s) return `${tag}-${k}`;
}

test("right after a failover, the first enqueue and finish on the promoted master succeed", async () => {
  const prefix = testPrefix();
  const base = { redisUrl: cluster.seedUrl, prefix, queue: "pr", shards: 6 };
  const runs: string[] = [];
  const noop = defineTask({
    name: "noop",
    run: async (_: unknown, _s: AbortSignal, job: { id: string }) => void runs.push(job.id),
  });
  // retryConnectS: the calls in flight or queued for the dead master fail and are retried
  // (connection errors); NOSCRIPT is no connection error: it would reach the caller.
  const queue = await Queue.connect({ ...base, retryConnectS: 20 });
  const worker = await Worker.start({ ...base, tasks: [noop] });
  try {
    const shard0 = shardKeys(prefix, "pr", 6)[0]!;
    const before = idOn(0, "before");
    await queue.enqueue("noop", 1, { id: before });
    expect((await queue.waitForJobs([before], { timeoutMs: 10_000 })).pending).toEqual([]);
    const shas = ["SCRIPT", "EXISTS", scripts.enqueue.sha, scripts.finish.sha];
    const { port: master } = await cluster.masterOf(shard0.stream);
    expect(await onPort(master, shas)).toEqual([1, 1]);

    const failoverMs = await cluster.kill(master);
    const { port: promoted } = await cluster.masterOf(shard0.stream);
    expect(promoted).not.toBe(master);
    expect(await onPort(promoted, shas)).toEqual([0, 0]);

    const after = idOn(0, "after");
    const began = performance.now();
    await queue.enqueue("noop", 2, { id: after });
    const enqueuedMs = performance.now() - began;
    const waited = await queue.waitForJobs([after], { timeoutMs: 15_000 });
    console.log(
      `failover ${failoverMs} ms; then the first enqueue took ${Math.round(enqueuedMs)} ms, its finish ${Math.round(performance.now() - began)} ms`,
    );
    expect(waited.pending).toEqual([]);
    expect((await queue.getJob(after))?.status).toBe("finished");
    expect(runs).toEqual([before, after]);
    // Both scripts got to the promoted master by the calls themselves.
    expect(await onPort(promoted, shas)).toEqual([1, 1]);
  } finally {
    await worker.stop();
    await queue.close();
  }
}, 60_000);
