// A worker and one limit key whose hash holds another type (docs/internals.md, "Rate limits"):
// the other keys' jobs read in the same batch run; the bad key's jobs are held (a minute at a
// time, no attempt spent, visible as queued with a due time), the operator is told once with
// the key's name, and they run once the key is deleted. Before, the whole limiter call failed,
// and the bad key's jobs stayed in the worker, each holding a slot and asking again each second
// for ever: as many as the worker's slots stalled it, no other job read.
import { expect, test } from "bun:test";
import { limitKeys } from "../lib/engine/keys.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { createLogger } from "../lib/log.ts";
import { defineTask } from "../lib/types.ts";
import { corruptTeller } from "../lib/worker/limit-corrupt.ts";
import {
  logRecorder,
  openQueue,
  pinShards,
  rawRedis,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

// The test makes the held jobs due in the one shard's delayed set (q.keys).
pinShards(1);

const task = defineTask({ name: "t", run: async () => "ok" });
const TOLD = "limit key unreadable: its jobs held a minute at a time until it is deleted";

test("the other keys' jobs run, the bad key's are held and told of once, then run once it is deleted", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q" });
  await using r = await rawRedis();
  const lk = limitKeys(prefix, "q");
  await writeLimits(q.client, prefix, "q", { rate: null, keyConcurrency: 1, keyRate: null });
  await r.sendCommand(["SET", lk.key("bad"), "not ours"]);
  // The bad key's jobs first, as many as the worker's slots: its first read is all of them.
  const specs = Array.from({ length: 6 }, (_, i) => ({
    task: "t",
    payload: i,
    limitKey: i < 3 ? "bad" : `good${i}`,
  }));
  const jobs = await q.enqueueMany(specs);
  const bad = jobs.slice(0, 3).map((j) => j.id);
  const log = logRecorder();
  const worker = await startWorker({
    prefix,
    queue: "q",
    tasks: [task],
    concurrency: 3,
    logger: log,
  });
  const good = jobs.slice(3).map((j) => j.id);
  expect((await q.waitForJobs(good, { timeoutMs: 10_000 })).pending).toEqual([]);
  await until(async () => Number(await r.sendCommand(["ZCARD", q.keys.delayed])) === 3, "held");
  for (const id of bad) {
    const job = await q.getJob(id);
    expect(job?.status).toBe("queued");
    expect(job?.attempts).toBe(0);
    expect(job?.runAt).toBeGreaterThan(Date.now() + 30_000);
  }
  const told = log.records.filter((l) => l.event === TOLD);
  expect(told.map((l) => l.fields)).toEqual([
    { key: lk.key("bad"), problem: "holds a string, not a hash" },
  ]);
  // Deleted, and (rather than wait the minute) due now: they run.
  await r.sendCommand(["DEL", lk.key("bad")]);
  for (const id of bad) await r.sendCommand(["ZADD", q.keys.delayed, "XX", "0", id]);
  expect((await q.waitForJobs(bad, { timeoutMs: 10_000 })).pending).toEqual([]);
  await worker.stop(1000);
}, 30_000);

test("told once per key, its name's control characters escaped", () => {
  const lines: string[] = [];
  const tell = corruptTeller(createLogger("human", (l) => lines.push(l)));
  const problem = "p:{q}:limit:key:b\x1b[31m holds a string, not a hash";
  tell(problem);
  tell(problem);
  tell("p:{q}:limit:running:c holds a hash, not a zset");
  expect(lines.length).toBe(2);
  expect(lines[0]).not.toContain("\x1b");
  expect(lines[0]).toContain("key=p:{q}:limit:key:b\\x1b[31m");
  expect(lines[1]).toContain("key=p:{q}:limit:running:c");
});
