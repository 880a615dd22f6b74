// A worker reads every shard of its queue (lib/worker/worker.ts, one shard worker each:
// lib/worker/shard.ts) under one concurrency limit (lib/worker/slots.ts). Shards work on one
// standalone Redis (their tags only matter on a cluster), so the test Redis has six.
import { describe, expect, test } from "bun:test";
import type { WorkerOptions } from "../lib/config.ts";
import type { EnqueueJob } from "../lib/engine/enqueue.ts";
import { GROUP, type QueueKeys, shardKeys } from "../lib/engine/keys.ts";
import { RetryableError } from "../lib/errors.ts";
import { mastersOf } from "../lib/redis/cluster.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { defineTask, type JobInfo } from "../lib/types.ts";
import { openQueues } from "../lib/worker/queues.ts";
import { workerArgs } from "./fixtures/cli/harness.ts";
import { enqueue } from "./fixtures/engine.ts";
import {
  logRecorder,
  pendingCount,
  type RawRedis,
  rawRedis,
  runCli,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

const SHARDS = 6;

/** `n` jobs of task `task` for shard `s`, each payload naming its shard. */
function jobsFor(s: number, n: number, task: string, extra: Partial<EnqueueJob> = {}) {
  return Array.from({ length: n }, (_, i) => ({
    task,
    payload: JSON.stringify({ s, i }),
    maxAttempts: 3,
    ...extra,
  }));
}

/** A queue of six shards under a fresh prefix, and each shard's keys. */
function sharded() {
  const prefix = testPrefix();
  return { prefix, keys: shardKeys(prefix, "default", SHARDS) };
}

/** Jobs enqueued straight into shard s (the engine's enqueue on that shard's keys). */
async function enqueueIn(r: RawRedis, keys: QueueKeys[], s: number, jobs: EnqueueJob[]) {
  return enqueue(r, keys[s] as QueueKeys, jobs);
}

/**
 * A task whose runs wait on a latch until `drain` lets them go (or the worker gives them up):
 * counts the runs at once, the most ever at once, and each run's shard.
 */
function latched(name = "held") {
  const gates: (() => void)[] = [];
  const state = { running: 0, peak: 0, started: [] as number[], ended: 0 };
  const task = defineTask({
    name,
    run: async (payload: { s: number }, signal: AbortSignal) => {
      state.started.push(payload.s);
      state.peak = Math.max(state.peak, ++state.running);
      await new Promise<void>((resolve) => {
        gates.push(resolve);
        signal.addEventListener("abort", () => resolve());
      });
      state.running--;
      state.ended++;
    },
  });
  /** Lets the runs go one by one, each once `limit` (or all that are left) run at once. */
  const drain = async (total: number, limit: number) => {
    for (let done = 0; done < total; done++) {
      const filled = Math.min(limit, total - done);
      await until(() => state.running >= filled, "the slots filled");
      expect(state.running).toBe(filled);
      gates.shift()?.();
      await until(() => state.ended === done + 1, "the job let go to end");
    }
  };
  return { task, state, drain };
}

/** Blocking reads of worker `name` in progress (CLIENT LIST: a reader blocked in XREADGROUP). */
/** CLIENT LIST of every server (on a cluster, each master: the shards are spread over them). */
async function clientList(r: RawRedis): Promise<string> {
  const lists: string[] = [];
  for (const node of await mastersOf(r as unknown as Redis)) {
    lists.push(String(await node.sendCommand(["CLIENT", "LIST"])));
  }
  return lists.join("\n");
}

async function blockedReads(r: RawRedis, name: string): Promise<number> {
  const list = (await clientList(r)).split("\n");
  return list.filter((l) => l.includes(`-${name} `) && / flags=b /.test(l)).length;
}

describe("a worker of a six-shard queue", () => {
  test("processes the jobs of every shard, beats in every shard, logs its start once", async () => {
    const { prefix, keys } = sharded();
    await using r = await rawRedis();
    const seen: number[] = [];
    const note = defineTask({ name: "note", run: async (p: { s: number }) => seen.push(p.s) });
    const log = logRecorder();
    const w = await startWorker({ prefix, tasks: [note], shards: SHARDS, logger: log });
    expect(w.shards).toBe(SHARDS);
    for (let s = 0; s < SHARDS; s++) await enqueueIn(r, keys, s, jobsFor(s, 5, "note"));
    await until(() => w.processed === 5 * SHARDS, "every shard's jobs");
    expect(seen.sort()).toEqual(Array.from({ length: 5 * SHARDS }, (_, i) => Math.floor(i / 5)));
    for (const k of keys) {
      expect(await r.sendCommand(["XLEN", k.stream])).toBe(0);
      expect(await r.sendCommand(["ZSCORE", k.workers, w.name])).not.toBeNull();
    }
    expect(log.events().filter((e) => e === "worker started")).toHaveLength(1);
    await w.stop();
    expect(log.events().filter((e) => e === "worker stopped")).toHaveLength(1);
    for (const k of keys) expect(await r.sendCommand(["ZSCORE", k.workers, w.name])).toBeNull();
  });

  test("one concurrency limit over all shards: never more than 4 at once", async () => {
    const { prefix, keys } = sharded();
    await using r = await rawRedis();
    const { task, state, drain } = latched();
    const w = await startWorker({ prefix, tasks: [task], shards: SHARDS, concurrency: 4 });
    for (let s = 0; s < SHARDS; s++) await enqueueIn(r, keys, s, jobsFor(s, 2, "held"));
    // Each job let go frees a slot that another job (of any shard) takes.
    await drain(2 * SHARDS, 4);
    await until(() => w.processed === 2 * SHARDS, "every job recorded");
    expect(state.peak).toBe(4);
    expect(new Set(state.started)).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    await w.stop();
  });

  test("a shard that has all the jobs uses every slot while the others are empty", async () => {
    const { prefix, keys } = sharded();
    await using r = await rawRedis();
    const { task, state, drain } = latched();
    const w = await startWorker({ prefix, tasks: [task], shards: SHARDS, concurrency: 4 });
    // The worker is idle first: its loops are blocking on the empty shards.
    await until(async () => (await blockedReads(r, w.name)) > 0, "a blocking read");
    await enqueueIn(r, keys, 3, jobsFor(3, 8, "held"));
    await until(() => state.running === 4, "four jobs of shard 3 running");
    expect(state.started).toEqual([3, 3, 3, 3]);
    await drain(8, 4);
    await until(() => w.processed === 8, "every job recorded", 15_000);
    expect(state.peak).toBe(4);
    await w.stop();
  });

  test("an idle worker waits on every shard at once, even at concurrency 1", async () => {
    const { prefix } = sharded();
    await using r = await rawRedis();
    const tasks = [latched().task];
    const w = await startWorker({ prefix, tasks, shards: SHARDS, concurrency: 1 });
    // A blocking read holds no slot: a job enqueued in any shard is read at once, not after
    // another shard's blocking read has ended.
    await until(async () => (await blockedReads(r, w.name)) === SHARDS, "six blocking reads");
    await w.stop();
  });

  test("a shard that never runs dry does not keep another shard's job waiting", async () => {
    const { prefix, keys } = sharded();
    await using r = await rawRedis();
    const { task, state, drain } = latched();
    const w = await startWorker({ prefix, tasks: [task], shards: SHARDS, concurrency: 1 });
    await until(async () => (await blockedReads(r, w.name)) === SHARDS, "six blocking reads");
    await enqueueIn(r, keys, 0, jobsFor(0, 20, "held"));
    await until(() => state.running === 1, "a job of shard 0 running");
    await enqueueIn(r, keys, 5, jobsFor(5, 1, "held"));
    // Delivered to this worker while its one slot is busy: held, started next.
    await until(async () => (await pendingCount(r, keys[5] as QueueKeys)) === 1, "delivered");
    await drain(2, 1);
    await until(() => state.started.length === 3, "the next job started");
    expect(state.started).toEqual([0, 5, 0]);
    expect(state.peak).toBe(1);
    await w.stop(0);
  });

  // Prefetch does not apply to a worker of several shards (README, `--prefetch`): its held
  // entries wait for a slot however long the job before them runs. The prefetch give-back timer
  // took them too (armed whenever an entry was held), so after prefetchWaitMs a held entry went
  // back to the end of its stream, to be read again: a re-add per long job, and the order lost.
  test("an entry held for the one slot is kept past prefetchWaitMs, not given back", async () => {
    const { prefix, keys } = sharded();
    await using r = await rawRedis();
    const { task, state, drain } = latched();
    const logger = logRecorder();
    const w = await startWorker({
      prefix,
      tasks: [task],
      shards: SHARDS,
      concurrency: 1,
      prefetchWaitMs: 1,
      logger,
    });
    await until(async () => (await blockedReads(r, w.name)) === SHARDS, "six blocking reads");
    await enqueueIn(r, keys, 0, jobsFor(0, 2, "held"));
    await until(() => state.running === 1, "a job of shard 0 running");
    await enqueueIn(r, keys, 5, jobsFor(5, 1, "held"));
    const shard5 = keys[5] as QueueKeys;
    await until(async () => (await pendingCount(r, shard5)) === 1, "delivered");
    const entries = async () =>
      (await r.sendCommand(["XRANGE", shard5.stream, "-", "+"])) as unknown[];
    const before = await entries();
    // Fifty times the bound: a give-back (a re-add under a new entry id) would have come.
    await Bun.sleep(50);
    expect(await entries()).toEqual(before);
    expect(await pendingCount(r, shard5)).toBe(1);
    expect(logger.events().filter((e) => e.includes("given back"))).toEqual([]);
    await drain(3, 1);
    expect(state.started).toEqual([0, 5, 0]);
    await w.stop(0);
  });

  test("a shard that fails the start fails it whole: no connection left, the name free", async () => {
    const { prefix, keys } = sharded();
    await using r = await rawRedis();
    const k3 = keys[3] as QueueKeys;
    await r.sendCommand(["SET", k3.stream, "not a stream"]);
    const name = `shards-${prefix}`;
    const tasks = [latched().task];
    const err = await startWorker({ prefix, tasks, shards: SHARDS, name }).catch((e) => e);
    expect(String(err)).toContain("WRONGTYPE");
    const clients = () => clientList(r);
    await until(async () => !(await clients()).includes(`-${name} `), "every connection closed");
    await r.sendCommand(["DEL", k3.stream]);
    const w = await startWorker({ prefix, tasks, shards: SHARDS, name });
    expect(w.name).toBe(name);
    await w.stop();
  });

  test("a lapsed lease on shard 5 is claimed", async () => {
    const { prefix, keys } = sharded();
    await using r = await rawRedis();
    const k5 = keys[5] as QueueKeys;
    const runs: JobInfo[] = [];
    const note = defineTask({ name: "note", run: async (_p: unknown, _s, job) => runs.push(job) });
    // A worker that died holding the job: delivered to "ghost", never renewed.
    await r.sendCommand(["XGROUP", "CREATE", k5.stream, GROUP, "0", "MKSTREAM"]);
    await enqueueIn(r, keys, 5, jobsFor(5, 1, "note"));
    await r.sendCommand(["XREADGROUP", "GROUP", GROUP, "ghost", "STREAMS", k5.stream, ">"]);
    const w = await startWorker({ prefix, tasks: [note], shards: SHARDS, claimIdleMs: 60 });
    await until(() => w.processed === 1, "the claimed job to finish");
    expect(runs.map((j) => j.attempt)).toEqual([2]);
    expect(await pendingCount(r, k5)).toBe(0);
    await w.stop();
  });

  test("a retry on shard 2 goes through shard 2's delayed set and is promoted", async () => {
    const { prefix, keys } = sharded();
    await using r = await rawRedis();
    const attempts: number[] = [];
    const flaky = defineTask({
      name: "flaky",
      run: async (_p: unknown, _s, job) => {
        attempts.push(job.attempt);
        if (job.attempt === 1) throw new RetryableError("once", { retryAfterMs: 50 });
        return "ok";
      },
    });
    const w = await startWorker({ prefix, tasks: [flaky], shards: SHARDS });
    await enqueueIn(r, keys, 2, jobsFor(2, 1, "flaky"));
    await until(() => w.processed === 1, "the retried job to finish");
    expect(attempts).toEqual([1, 2]);
    const stats = await r.sendCommand(["HMGET", keys[2]?.stats ?? "", "retried", "finished"]);
    expect(stats).toEqual(["1", "1"]);
    await w.stop();
  });

  test("a graceful stop releases the jobs still running on every shard", async () => {
    const { prefix, keys } = sharded();
    await using r = await rawRedis();
    const { task, state } = latched();
    const w = await startWorker({ prefix, tasks: [task], shards: SHARDS, concurrency: 6 });
    for (let s = 0; s < SHARDS; s++) await enqueueIn(r, keys, s, jobsFor(s, 1, "held"));
    await until(() => state.running === SHARDS, "a job of each shard running");
    await w.stop(0);
    for (const k of keys) {
      expect(await pendingCount(r, k)).toBe(0);
      const [[, fields]] = await r.sendCommand(["XRANGE", k.stream, "-", "+"]);
      expect(fields).toContain("i"); // a fresh entry for the same job
      expect(await r.sendCommand(["XINFO", "CONSUMERS", k.stream, GROUP])).toEqual([]);
    }
  });

  test("burst mode exits once every shard is empty, a delayed job on shard 4 included", async () => {
    const { prefix, keys } = sharded();
    await using r = await rawRedis();
    const seen: number[] = [];
    const note = defineTask({ name: "note", run: async (p: { s: number }) => seen.push(p.s) });
    for (const s of [0, 1, 3]) await enqueueIn(r, keys, s, jobsFor(s, 3, "note"));
    await enqueueIn(r, keys, 4, jobsFor(4, 1, "note", { delayMs: 300 }));
    const w = await startWorker({ prefix, tasks: [note], shards: SHARDS, burst: true });
    await w.stopped;
    expect(w.processed).toBe(10);
    expect(seen.sort()).toEqual([0, 0, 0, 1, 1, 1, 3, 3, 3, 4]);
  });

  test("worker --shards 3 on a queue of 6 shards: exit 2, one line", async () => {
    const { prefix } = sharded();
    const w = await startWorker({ prefix, tasks: [latched().task], shards: SHARDS });
    await w.stop();
    const res = await runCli("worker", workerArgs(prefix, "--shards", "3"));
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr).toBe(
      `worker: queue "default" (prefix ${prefix}) has 6 shards, not 3: the count is fixed when a queue is created (leave out --shards, or use another --queue)\n`,
    );
  });
});

test("a worker's shards share the queue's keys, computed once for the queue", async () => {
  // Each shard's worker computed every shard's keys again (a shard tag costs a search): a
  // worker of N shards spent N² searches starting, 15 s of CPU at 192 shards, about half an
  // hour at 1,024.
  const { prefix, keys } = sharded();
  await using r = await rawRedis();
  const o = { prefix, name: "w1", shards: SHARDS } as WorkerOptions;
  const served = await openQueues(r as unknown as Redis, o, ["default"]);
  expect(served).toHaveLength(SHARDS);
  const shared = served[0]!.queueKeys;
  expect(shared.map((k) => k.stream)).toEqual(keys.map((k) => k.stream));
  for (const s of served) expect(s.queueKeys).toBe(shared);
});
