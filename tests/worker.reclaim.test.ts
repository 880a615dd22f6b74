// Crash takeover, simulated deterministically: a fake consumer reads a job (a read is all a
// real worker does at start: the engine writes nothing then) and never acknowledges it, as if
// its process had died.
import { describe, expect, test } from "bun:test";
import { GROUP } from "../lib/engine/keys.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { defineTask } from "../lib/types.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import type { RawRedis } from "./helpers.ts";
import { commandCalls, openQueue, rawRedis, startWorker, testPrefix, until } from "./helpers.ts";

/** Reads job `id`'s entry as consumer `name` (the job is started), and never acks it. */
async function crashAfterStart(r: RawRedis, q: Queue, id: string, name: string): Promise<string> {
  const { stream } = keysOf(q, id);
  await r.sendCommand(["XGROUP", "CREATE", stream, GROUP, "0", "MKSTREAM"]).catch(() => {});
  const reply = (await r.sendCommand([
    "XREADGROUP",
    "GROUP",
    GROUP,
    name,
    "COUNT",
    "1",
    "STREAMS",
    stream,
    ">",
  ])) as [string, [string, string[]][]][];
  const [entryId] = reply[0]![1][0]!;
  return entryId;
}

/** Entries pending in every shard's group. */
async function pending(r: RawRedis, q: Queue): Promise<number> {
  let n = 0;
  for (const k of shardsOf(q)) {
    n += Number(((await r.sendCommand(["XPENDING", k.stream, GROUP])) as [number])[0]);
  }
  return n;
}

/** Entries in every shard's stream. */
async function streamLength(r: RawRedis, q: Queue): Promise<number> {
  let n = 0;
  for (const k of shardsOf(q)) {
    n += Number(await r.sendCommand(["XLEN", k.stream]));
  }
  return n;
}

describe("claiming a dead worker's jobs", () => {
  test("a job left pending by a dead consumer is claimed after claimIdleMs and finished", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const id = await q.enqueue("echo", "hello");
    await crashAfterStart(r, q, id, "dead-worker");
    const echo = defineTask({ name: "echo", run: async (p: string) => p });
    const w = await startWorker({ prefix, tasks: [echo], claimIdleMs: 100 });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({
      status: "finished",
      result: "hello",
      attempts: 2,
      worker: w.name,
    });
    expect(await pending(r, q)).toBe(0);
    expect(await r.sendCommand(["HGET", keysOf(q, id).stats, "claimed"])).toBe("1");
    await w.stop();
  });

  test("a job whose worker died on its last attempt is dead-lettered, not run again", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    await using r = await rawRedis();
    const id = await q.enqueue("poison", null);
    await crashAfterStart(r, q, id, "dead-worker");
    let runs = 0;
    const poison = defineTask({
      name: "poison",
      run: async () => {
        runs++;
      },
    });
    const w = await startWorker({ prefix, tasks: [poison], claimIdleMs: 100 });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)?.status).toBe("failed");
    expect(ended.get(id)?.error).toContain("abandoned: its worker stopped during attempt 1 of 1");
    expect(runs).toBe(0);
    expect(await r.sendCommand(["XLEN", keysOf(q, id).dead])).toBe(1);
    expect(await pending(r, q)).toBe(0);
    await w.stop();
  });

  /**
   * Long enough that a busy test process still renews in time (400 ms lapsed once in a full run
   * beside the browser tests: worker a's event loop held past it, which loses a lease by design);
   * short enough to lapse several times while b scans 40 times.
   */
  const LEASE_MS = 1_000;
  test("a long job whose worker is alive is not taken over (its lease is renewed)", async () => {
    const prefix = testPrefix();
    // One shard: the claim scans counted below are those of this queue's one shard.
    await using q = await openQueue({ prefix, shards: 1 });
    await using r = await rawRedis();
    const runs: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const slow = (name: string) =>
      defineTask({
        name: "slow",
        run: async () => {
          runs.push(name);
          await gate;
          return name;
        },
      });
    // Worker a looks for lapsed leases only as it starts: its own later looks would find its
    // own entry once idle and reset its idle time, standing in for the renewals under test.
    const a = await startWorker({
      prefix,
      tasks: [slow("a")],
      claimIdleMs: LEASE_MS,
      reclaimEveryMs: 1_000_000_000,
      name: "a",
      shards: 1,
    });
    const id = await q.enqueue("slow", null);
    await until(() => runs.length === 1, "worker a to start the job");
    const b = await startWorker({
      prefix,
      tasks: [slow("b")],
      claimIdleMs: LEASE_MS,
      name: "b",
      shards: 1,
    });
    // A window is the point: the job must outlast its lease many times over while b looks for
    // lapsed leases. Wait for those looks (an XPENDING IDLE in the claim script, every 50 to
    // 100 ms between b's reads; a's lease renewals, every LEASE_MS / 3, read XPENDING too),
    // forty of them, several leases, rather than for a fixed time. The lease is long enough
    // that a test process busy for a moment (2 shared cores) does not miss a renewal.
    const looks = await commandCalls(r, "xpending");
    const scans = () => commandCalls(r, "xpending");
    await until(async () => (await scans()) >= looks + 40, "b's claim scans", 20_000);
    open();
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", result: "a", attempts: 1 });
    expect(runs).toEqual(["a"]);
    expect(await r.sendCommand(["HGET", keysOf(q, id).stats, "claimed"])).toBeNull();
    await Promise.all([a.stop(), b.stop()]);
  }, 30_000);

  test("a worker whose lease was taken over gives the job up and records nothing", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    let signal: AbortSignal | undefined;
    const held = defineTask({
      name: "held",
      run: (_p: null, s) => {
        signal = s;
        return new Promise<string>((resolve) => s.addEventListener("abort", () => resolve("late")));
      },
    });
    const w = await startWorker({ prefix, tasks: [held], claimIdleMs: 60 });
    const id = await q.enqueue("held", null);
    await until(() => signal !== undefined, "the job to start");
    // Another consumer claims the entry, as if this worker had stalled past claimIdleMs.
    const { stream } = keysOf(q, id);
    const [entry] = (await r.sendCommand(["XRANGE", stream, "-", "+"])) as [string, string[]][];
    await r.sendCommand(["XCLAIM", stream, GROUP, "thief", "0", entry![0], "JUSTID"]);
    await until(() => signal?.aborted === true, "the worker to give the job up");
    expect(signal?.reason?.why).toBe("lease lost");
    expect(await q.getJob(id)).toMatchObject({ status: "started", result: null });
    const owner = (await r.sendCommand(["XPENDING", stream, GROUP, "-", "+", "10"])) as [
      string,
      string,
    ][];
    expect(owner.map((p) => p[1])).toEqual(["thief"]);
    await w.stop();
  });
});

describe("a worker's own lapsed leases", () => {
  test("a job this worker still runs is not claimed and started a second time by it", async () => {
    const prefix = testPrefix();
    // One shard: the claim scans counted below are those of this queue's one shard.
    await using q = await openQueue({ prefix, shards: 1 });
    await using r = await rawRedis();
    let runs = 0;
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = defineTask({
      name: "slow",
      run: async () => {
        runs++;
        await gate;
        return "once";
      },
    });
    const timing = { claimIdleMs: 3_000, reclaimEveryMs: 20 };
    const w = await startWorker({ prefix, tasks: [slow], ...timing, shards: 1 });
    const id = await q.enqueue("slow", null);
    await until(() => runs === 1, "the job to start");
    // Its lease looks lapsed (as after an event-loop stall): this worker's own claim finds it.
    const { stream } = q.keys;
    const [entry] = (await r.sendCommand(["XRANGE", stream, "-", "+"])) as [string][];
    await r.sendCommand([
      ...["XCLAIM", stream, GROUP, w.name, "0", entry![0], "IDLE", "60000", "JUSTID"],
    ]);
    // Wait for the worker's claim scans (an XPENDING IDLE each, every 20 ms between reads):
    // they see the entry and leave it, as it is this worker's own.
    const looks = await commandCalls(r, "xpending");
    await until(async () => (await commandCalls(r, "xpending")) >= looks + 10, "claim scans");
    const [p] = (await r.sendCommand([...["XPENDING", stream, GROUP, "-", "+", "1"]])) as [
      string,
      string,
      number,
      number,
    ][];
    expect(p?.[3]).toBe(1); // never claimed: one delivery, the read
    release();
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", result: "once", attempts: 1 });
    expect(runs).toBe(1);
    await w.stop();
  });

  test("jobs finished behind a slow one are removed from the stream at once", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const work = defineTask({
      name: "work",
      run: (slow: boolean) => (slow ? gate : Promise.resolve()),
    });
    const w = await startWorker({ prefix, tasks: [work], concurrency: 8 });
    const [slowId] = (await q.enqueueMany([{ task: "work", payload: true }])).map((e) => e.id);
    const fast = (
      await q.enqueueMany(Array.from({ length: 200 }, () => ({ task: "work", payload: false })))
    ).map((e) => e.id);
    await q.waitForJobs(fast, { timeoutMs: 5_000 });
    expect(await streamLength(r, q)).toBe(1); // only the slow job's entry
    release();
    await q.waitForJobs([slowId!], { timeoutMs: 5_000 });
    expect(await streamLength(r, q)).toBe(0);
    await w.stop();
  });
});
