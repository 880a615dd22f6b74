// A stop closes the connection of its blocking read, but Redis may not have seen that close when
// the release re-adds the jobs still running (lib/worker/stop.ts): until it does, the read is
// still waiting there, and Redis hands it the first entry the release adds. That entry was
// pending on the stopped worker again, for claimIdleMs (the cluster pass met it once, in
// tests/worker.shards.test.ts: a read sent just before the stop, which a busy Redis read in the
// same turn as the release, and its close only after). Here the close is held back on purpose.
import { expect, test } from "bun:test";
import { GROUP, queueKeys } from "../lib/engine/keys.ts";
import { defineTask } from "../lib/types.ts";
import { viaProxy } from "./fixtures/proxy.ts";
import {
  clientList,
  nodeUrlOf,
  openQueue,
  pendingCount,
  pinShards,
  rawRedis,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

// A proxy stands for one server: the queue has one shard, and on a cluster the proxy leads to
// the master of its slot.
pinShards(1);

test("a blocking read whose close Redis has not seen takes nothing the stop releases", async () => {
  const prefix = testPrefix();
  const keys = queueKeys(prefix, "default");
  const { proxy, url } = viaProxy(await nodeUrlOf(keys.stream));
  try {
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    let runs = 0;
    const endless = defineTask({
      name: "job",
      run: (_p: null, signal) => {
        runs++;
        return new Promise<null>((resolve) =>
          signal.addEventListener("abort", () => resolve(null)),
        );
      },
    });
    // Concurrency 2: with the job running, its read loop waits for a second job in a blocking read.
    const name = `late-${prefix}`;
    const w = await startWorker({ prefix, tasks: [endless], redisUrl: url, name, concurrency: 2 });
    const id = await q.enqueue("job", null);
    await until(() => runs === 1, "the job to start");
    const reader = `courier-reader-${name} `;
    const blocked = async () =>
      (await clientList(r)).split("\n").some((l) => l.includes(reader) && / flags=b /.test(l));
    await until(blocked, "the worker's blocking read");
    proxy.holdCloses();
    await w.stop(0);
    // The job is back in the stream, pending on no one, its one run released (the late read's
    // delivery never ran: it writes none), and the worker out of the group.
    expect(await pendingCount(r, keys)).toBe(0);
    expect(await r.sendCommand(["XINFO", "CONSUMERS", keys.stream, GROUP])).toEqual([]);
    expect(await q.getJob(id)).toMatchObject({ status: "queued", attempts: 0, worker: null });
    expect(await r.sendCommand(["HGET", keys.record(id), "n"])).toBe("1");
    // Another worker gets it at once, not after claimIdleMs.
    const quick = defineTask({ name: "job", run: async () => "second" });
    const w2 = await startWorker({ prefix, tasks: [quick], claimIdleMs: 60_000 });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", result: "second", attempts: 1 });
    await w2.stop();
  } finally {
    proxy.close();
  }
});
