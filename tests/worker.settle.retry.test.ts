// An outcome whose write failed is kept and written again, never dropped (lib/worker/outcomes.ts),
// against the real Redis: a proxy cuts the worker's connection exactly when its finish call goes
// out, before Redis sees the call (nothing written). The worker writes the outcome again once
// reconnected, and the job is recorded once: not dropped with the failed write, not doubled.
// (A lost reply, the call having run, is not staged here: whether Redis reads a call the
// proxy passed on before the reset is a race. finish.lua's idempotence is lua.idempotence's.)
import { expect, test } from "bun:test";
import { queueKeys } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { defineTask } from "../lib/types.ts";
import { lossyProxy } from "./fixtures/lossy-proxy.ts";
import {
  logRecorder,
  nodeUrlOf,
  openQueue,
  pendingCount,
  pinShards,
  rawRedis,
  startWorker,
  testPrefix,
} from "./helpers.ts";

// A proxy stands for one server: the queue has one shard, and on a cluster the proxy leads to
// the master of its slot.
pinShards(1);

test("a finish call cut on its way: the outcome is written again, recorded once", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await using r = await rawRedis();
  const node = await nodeUrlOf(queueKeys(prefix, "default").stream);
  await using proxy = await lossyProxy("", 0, "request", node);
  let runs = 0;
  const double = defineTask({
    name: "double",
    run: (n: number) => {
      runs++;
      return Promise.resolve(n * 2);
    },
  });
  const log = logRecorder();
  const w = await startWorker({ prefix, tasks: [double], redisUrl: proxy.url, logger: log });
  // Armed once the worker started (its start-up permission check names the finish script):
  // the first finish call is cut, the write again goes through.
  proxy.arm(scripts.finish.sha, 1);
  const id = await q.enqueue("double", 21);
  const { ended, pending } = await q.waitForJobs([id], { timeoutMs: 10_000 });
  await w.stop();
  expect(proxy.dropped).toBe(1);
  expect(pending).toEqual([]);
  expect(ended.get(id)).toMatchObject({ status: "finished", result: 42, attempts: 1 });
  expect(runs).toBe(1);
  // One finish recorded: one count, one event naming the job, nothing left pending.
  expect(await r.sendCommand(["HGET", q.keys.stats, "finished"])).toBe("1");
  const events = (await r.sendCommand(["XRANGE", q.keys.events, "-", "+"])) as [string, string[]][];
  expect(events.map(([, fields]) => fields)).toEqual([["type", "finished", "ids", id]]);
  expect(await pendingCount(r, q.keys)).toBe(0);
  const finished = log.events().filter((e) => e.startsWith("finished"));
  expect(finished).toEqual(["finished"]);
});
