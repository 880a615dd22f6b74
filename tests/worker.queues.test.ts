// A worker of several queues serves them in order (lib/worker/order.ts, lib/worker/slots.ts):
// strict, a freed slot goes to the first queue that wants one; weighted, to one drawn by weight
// (the draw injected here, WorkerOptions.random). On one Redis and, in the cluster pass, on
// queues of six shards each.
import { describe, expect, test } from "bun:test";
import { GROUP, shardKeys } from "../lib/engine/keys.ts";
import { ConfigError } from "../lib/errors.ts";
import { mastersOf } from "../lib/redis/cluster.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { defineTask } from "../lib/types.ts";
import { Claims } from "../lib/worker/claims.ts";
import { orderOptions, pickRank, queueList } from "../lib/worker/order.ts";
import {
  logRecorder,
  openQueue,
  type RawRedis,
  rawRedis,
  startWorker,
  testPrefix,
  testShards,
  until,
} from "./helpers.ts";

/**
 * A task recording each run's payload tag in start order; runs wait on a gate the test opens
 * one at a time (`release`), or end at once when `gated` is false.
 */
function recorder(gated: boolean) {
  const started: string[] = [];
  const gates: (() => void)[] = [];
  let running = 0;
  const task = defineTask({
    name: "tagged",
    run: async (payload: { tag: string }, signal: AbortSignal) => {
      started.push(payload.tag);
      running++;
      if (gated) {
        await new Promise<void>((resolve) => {
          gates.push(resolve);
          signal.addEventListener("abort", () => resolve());
        });
      }
      running--;
    },
  });
  return { task, started, gates, running: () => running };
}

/** Enqueues `n` jobs tagged `tag` into `queue`. */
async function fill(prefix: string, queue: string, tag: string, n: number): Promise<void> {
  await using q = await openQueue({ prefix, queue });
  const specs = Array.from({ length: n }, () => ({ task: "tagged", payload: { tag } }));
  await q.enqueueMany(specs);
}

/** Entries of `queue` delivered to a worker and not yet acknowledged, over its shards. */
async function delivered(r: RawRedis, prefix: string, queue: string): Promise<number> {
  let n = 0;
  for (const { stream } of shardKeys(prefix, queue, testShards() ?? 1)) {
    const [count] = (await r.sendCommand(["XPENDING", stream, GROUP])) as [number];
    n += Number(count);
  }
  return n;
}

describe("a worker of several queues", () => {
  test("strict: every job of the first queue starts before any of the next", async () => {
    const prefix = testPrefix();
    await fill(prefix, "low", "low", 4);
    await fill(prefix, "default", "default", 4);
    await fill(prefix, "high", "high", 4);
    const rec = recorder(false);
    const w = await startWorker({
      prefix,
      queue: "high,default,low",
      concurrency: 1,
      tasks: [rec.task],
    });
    expect(w.queues).toEqual(["high", "default", "low"]);
    await until(() => rec.started.length === 12, "every job to start");
    await w.stop();
    expect(rec.started).toEqual([
      ...Array(4).fill("high"),
      ...Array(4).fill("default"),
      ...Array(4).fill("low"),
    ]);
  });

  test("saturated with low jobs: a high job starts on the next freed slot, before the next low", async () => {
    const prefix = testPrefix();
    await fill(prefix, "low", "low", 8);
    const rec = recorder(true);
    await using r = await rawRedis();
    const w = await startWorker({
      prefix,
      queues: ["high", "low"],
      concurrency: 2,
      tasks: [rec.task],
    });
    await until(() => rec.running() === 2, "both slots busy with low jobs");
    await fill(prefix, "high", "high", 1);
    // The high job is delivered (its queue's idle read holds it for a slot) before a slot frees.
    await until(async () => (await delivered(r, prefix, "high")) === 1, "the high job delivered");
    rec.gates.shift()?.(); // one low job ends: its slot is the high job's
    await until(() => rec.started.length === 3, "the next start");
    expect(rec.started).toEqual(["low", "low", "high"]);
    for (const open of rec.gates.splice(0)) open();
    await until(() => rec.started.length >= 4, "low jobs go on");
    expect(rec.started.slice(3)).toEqual(Array(rec.started.length - 3).fill("low"));
    await w.stop(0);
  });

  test("queue: and queues: name the same queues; a bad list is refused in one line", () => {
    expect(queueList("high,default,low")).toEqual(["high", "default", "low"]);
    expect(queueList("ignored", ["a", "b"])).toEqual(["a", "b"]);
    expect(queueList("default")).toEqual(["default"]);
    expect(() => queueList("a,,b")).toThrow(ConfigError);
    expect(() => queueList("a,b,a")).toThrow("names a queue twice");
    expect(() => orderOptions(3, "weighted", [6, 3])).toThrow("one weight per queue: 3, got 2");
    expect(() => orderOptions(2, "strict", [1, 1])).toThrow("weighted order only");
    expect(() => orderOptions(2, "weighted", [0, 1])).toThrow("from 1 to 1000");
    expect(() => orderOptions(2, "fifo" as "strict")).toThrow("strict or weighted");
  });
});

describe("weighted order", () => {
  test("each turn is drawn by weight among the queues that want a slot", () => {
    // Draws at 0.00, 0.01, …, 0.99: 6,3,1 split them 60, 30, 10.
    let i = 0;
    const o = orderOptions(3, "weighted", [6, 3, 1], () => i++ / 100);
    const turns = [0, 0, 0];
    for (let k = 0; k < 100; k++) turns[pickRank(o, new Set([0, 1, 2]))]!++;
    expect(turns).toEqual([60, 30, 10]);
    // Only queues that want a slot take part: the last two, weighted 3 and 1.
    i = 0;
    const two = [0, 0, 0];
    for (let k = 0; k < 100; k++) two[pickRank(o, new Set([1, 2]))]!++;
    expect(two).toEqual([0, 75, 25]);
    // Strict takes the first that wants one, whatever the weights.
    expect(pickRank(orderOptions(3), new Set([2, 1]))).toBe(1);
  });

  test("a worker draws its turns from its random source: a busy first queue does not starve the last", async () => {
    const prefix = testPrefix();
    await fill(prefix, "a", "a", 4);
    await fill(prefix, "b", "b", 4);
    const rec = recorder(false);
    // Every draw lands at the top of the range: the last queue that wants a slot wins it. In
    // strict order (the first test) it would wait for the first queue to empty. The first slot
    // may go to a loop of a's before b's has asked (the loops start in the queues' order; with
    // six shards, a's empty shards pass it on): every later one is drawn.
    const w = await startWorker({
      prefix,
      queues: ["a", "b"],
      order: "weighted",
      weights: [3, 1],
      random: () => 0.99,
      concurrency: 1,
      tasks: [rec.task],
    });
    await until(() => rec.started.length === 8, "every job to start");
    await w.stop();
    expect(rec.started.slice(0, 5).filter((t) => t === "b")).toHaveLength(4);
    expect(rec.started.slice(5)).toEqual(["a", "a", "a"]);
  });
});

// R-slots finding: after a blip, a loop's next read is an own read of its pending entries, and
// it brought back the entry of a job running here; with every slot busy it was held for a slot
// (Slots.admit), so a stop gave that running job back "unstarted" (give-back.lua: no run
// written), and its released run was missing from its history; meanwhile finish-takes were
// refused (a held entry wanted the slot).
/**
 * Counts the own reads (Claims.claim with the own cursor set: after a lost read) of every worker
 * in this process until disposed: an own read writes nothing a test could see in Redis.
 */
function countOwnReads(): { n: number } & Disposable {
  const proto = Claims.prototype as unknown as { claim: (free: number) => Promise<unknown> };
  const original = proto.claim;
  const counted = {
    n: 0,
    [Symbol.dispose]: () => {
      proto.claim = original;
    },
  };
  proto.claim = async function (this: { ownCursor: string | null }, free: number) {
    const own = this.ownCursor !== null;
    const result = await original.call(this, free);
    if (own) counted.n++;
    return result;
  };
  return counted;
}

describe("an own read after a blip brings back a running job's entry", () => {
  test("it is not held: a stop releases the job as a run, written in its history", async () => {
    using ownReads = countOwnReads();
    const prefix = testPrefix();
    await using r = await rawRedis();
    const rec = recorder(true);
    const log = logRecorder();
    const w = await startWorker({
      prefix,
      queues: ["a", "b"],
      concurrency: 2,
      tasks: [rec.task],
      logger: log,
    });
    await using qb = await openQueue({ prefix, queue: "b" });
    const long = await qb.enqueue("tagged", { tag: "long" });
    await fill(prefix, "a", "z", 1);
    await until(() => rec.running() === 2, "both jobs running: every slot busy");
    // Each idle loop's blocking read is cut (a blip): its next read, on a new connection, is an
    // own read. Each connection is killed on its own node (client ids are per server).
    const nodes = await mastersOf(r as unknown as Redis);
    const reads = async (blocking: boolean) => {
      const found: [Redis, string][] = [];
      for (const node of nodes) {
        for (const l of String(await node.sendCommand(["CLIENT", "LIST"])).split("\n")) {
          if (!l.includes(w.name) || !/cmd=xreadgroup/.test(l)) continue;
          if (!blocking || / flags=b /.test(l)) found.push([node, /\bid=(\d+)/.exec(l)![1]!]);
        }
      }
      return found;
    };
    await until(async () => (await reads(true)).length > 0, "a blocking read");
    const cut = await reads(true);
    for (const [node, id] of cut) await node.sendCommand(["CLIENT", "KILL", "ID", id]);
    await until(() => ownReads.n > 0, "the own read after the blip");
    await w.stop(100);
    expect(log.events()).not.toContain("held jobs given back unstarted");
    const job = await qb.getJob(long);
    expect(job?.history.map((h) => h.outcome)).toEqual(["released"]);
    expect(rec.started.filter((t) => t === "long")).toHaveLength(1);
  });
});
