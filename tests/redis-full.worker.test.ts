// Workers on a full Redis (maxmemory reached, noeviction): they start, drain the queue, record
// every outcome exactly once, release what they hold when stopped, and say that Redis is full
// in one log line (and one when it has room again). Each test starts its own redis-server and
// fills it deterministically: the jobs go in first, then maxmemory is set just under what is used.
import { afterEach, describe, expect, test } from "bun:test";
import { GROUP } from "../lib/engine/keys.ts";
import { PermanentError } from "../lib/errors.ts";
import { STARTS_PER_READ } from "../lib/redis/memory.ts";
import { findFreePort } from "../lib/stack/redis-server.ts";
import { defineTask } from "../lib/types.ts";
import {
  fillWithJobs as fillQueue,
  type SmallRedis,
  startSmallRedis,
} from "./fixtures/redis-small.ts";
import { logRecorder, openQueue, pinShards, startWorker, testPrefix, until } from "./helpers.ts";

// These tests run on a small Redis of their own (tests/fixtures/redis-small.ts), as in the
// first pass, not on the cluster: its queues have one shard, whose keys the tests read.
pinShards(1);

let full: SmallRedis | null = null;
let closeQueue = async () => {};
afterEach(async () => {
  await closeQueue();
  await full?.stop();
  full = null;
});

const PAD = "x".repeat(2_000); // payloads of a realistic size, so a job record weighs something
const N = 150;
// How far past maxmemory these workers may go on starting jobs. A 1.5 MB Redis is small next to
// what a worker's connections and scripts take (some 200 kB), so the default 10% would pause
// them at once; the pause itself is tested on its own below.
const HEADROOM = { memoryHeadroomPct: 100 };

/** A task that waits for `open()` and counts its runs per job. */
function gated(fail = false) {
  let open = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const runs = new Map<number, number>();
  const task = defineTask({
    name: "echo",
    run: async (p: { i: number }) => {
      runs.set(p.i, (runs.get(p.i) ?? 0) + 1);
      await gate;
      if (fail) throw new Error(`no ${p.i}`);
      return { i: p.i };
    },
  });
  return { task, runs, open, running: () => runs.size };
}

async function setup() {
  full = await startSmallRedis(0);
  const prefix = testPrefix();
  const q = await openQueue({ redisUrl: full.url, prefix, maxAttempts: 2 });
  closeQueue = () => q.close();
  const enqueue = async () =>
    (
      await q.enqueueMany([...Array(N).keys()].map((i) => ({ task: "echo", payload: { i, PAD } })))
    ).map((e) => e.id);
  const cmd = <T = unknown>(args: string[]) => full!.redis.sendCommand<T>(args);
  const stat = async (name: string) => Number(await cmd(["HGET", q.keys.stats, name]));
  const drained = async () =>
    Number(await cmd(["XLEN", q.keys.stream])) === 0 &&
    Number((await cmd<[number]>(["XPENDING", q.keys.stream, GROUP]))[0]) === 0 &&
    Number(await cmd(["ZCARD", q.keys.delayed])) === 0;
  /** Job ids named by the events of this type, as often as they were recorded. */
  const recorded = async (type: string) => {
    const events = await cmd<[string, string[]][]>(["XRANGE", q.keys.events, "-", "+"]);
    const ids: string[] = [];
    for (const [, f] of events) {
      const field = (k: string) => (f.includes(k) ? f[f.indexOf(k) + 1] : undefined);
      if (field("type") === type) ids.push(...(field("ids") ?? field("id") ?? "").split(","));
    }
    return ids.sort();
  };
  const refused = () => expect(cmd(["SET", "probe", "x"])).rejects.toThrow(/^OOM /);
  return { q, prefix, enqueue, stat, drained, recorded, refused, server: full };
}

/** fillWithJobs (tests/fixtures/redis-small.ts), its queue closed after the test. */
async function fillWithJobs(small: SmallRedis) {
  const filled = await fillQueue(small);
  closeQueue = () => filled.q.close();
  return filled;
}

/** A stream's entries, read 500 at a time: one reply of them all would sit in Redis' output
 * buffer, which counts as used memory (a reply of 75,000 entries: 7 MB). */
async function readAll(small: SmallRedis, key: string): Promise<[string, string[]][]> {
  const all: [string, string[]][] = [];
  for (let from = "-"; ; ) {
    const page = await small.redis.sendCommand<[string, string[]][]>([
      "XRANGE",
      key,
      from,
      "+",
      "COUNT",
      "500",
    ]);
    all.push(...page);
    if (page.length < 500) return all;
    from = `(${page[page.length - 1]![0]}`;
  }
}

const count = (log: ReturnType<typeof logRecorder>, event: string) =>
  log.events().filter((e) => e === event).length;

describe("a worker on a full Redis", () => {
  test("starts on a full Redis whose queue never had a worker, and drains it", async () => {
    const { q, prefix, enqueue, stat, drained, recorded, refused, server } = await setup();
    const ids = await enqueue(); // no worker yet: the stream has no consumer group
    await server.capBelowUsed();
    await refused();
    const log = logRecorder();
    const w = await startWorker({
      redisUrl: server.url,
      prefix,
      tasks: [defineTask({ name: "echo", run: async (p: { i: number }) => ({ i: p.i }) })],
      heartbeatEveryMs: 20,
      ...HEADROOM,
      logger: log,
      healthPort: await findFreePort(),
      healthHost: "127.0.0.1",
    });
    const healthz = () => fetch(`http://127.0.0.1:${w.healthPort}/healthz`);
    await until(async () => (await stat("finished")) === N, "every job to finish");
    expect(await drained()).toBe(true);
    expect(await recorded("finished")).toEqual([...ids].sort());
    const jobs = await q.getJobs(ids);
    expect(jobs.every((j) => j?.status === "finished" && j.history.length === 1)).toBe(true);
    expect(jobs.map((j) => (j?.result as { i: number } | undefined)?.i)).toEqual([
      ...Array(N).keys(),
    ]);
    await until(() => w.problem() !== null, "the worker to see that Redis is full");
    const notReady = await healthz();
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      ok: false,
      reason: expect.stringMatching(/^redis out of memory since \d{4}-\d\d-\d\dT/),
    });
    await refused(); // draining took memory past the limit: producers still wait
    await server.raise(0);
    await until(() => count(log, "redis has room again") === 1, "the room-again line");
    expect(w.problem()).toBeNull();
    expect((await healthz()).status).toBe(200);
    expect(count(log, "redis is out of memory")).toBe(1);
    expect(log.events()).not.toContain("redis command failed");
    await w.stop();
  });

  test("takes over a dead worker's jobs on a full Redis (a claim's start writes first what takes no memory)", async () => {
    const { q, prefix, enqueue, stat, drained, refused, server } = await setup();
    const ids = await enqueue();
    // A consumer that read every job and died: its entries are pending, their leases lapse.
    const cmd = (args: string[]) => server.redis.sendCommand(args);
    await cmd(["XGROUP", "CREATE", q.keys.stream, GROUP, "0", "MKSTREAM"]);
    await cmd([
      "XREADGROUP",
      "GROUP",
      GROUP,
      "dead-one",
      "COUNT",
      String(N),
      "STREAMS",
      q.keys.stream,
      ">",
    ]);
    await server.capBelowUsed();
    await refused();
    const w = await startWorker({
      redisUrl: server.url,
      prefix,
      tasks: [defineTask({ name: "echo", run: async (p: { i: number }) => ({ i: p.i }) })],
      claimIdleMs: 100,
      ...HEADROOM,
    });
    await until(async () => (await stat("finished")) === N, "every claimed job to finish");
    expect(await drained()).toBe(true);
    expect((await q.getJobs(ids)).every((j) => j?.status === "finished")).toBe(true);
    await w.stop();
  });

  test("keeps going when the queue fills while it runs: 0 lost, each result once, room again once results expire", async () => {
    const { q, prefix, enqueue, stat, drained, recorded, refused, server } = await setup();
    const g = gated();
    const log = logRecorder();
    const w = await startWorker({
      redisUrl: server.url,
      prefix,
      tasks: [g.task],
      concurrency: 8,
      resultTtlS: 1,
      heartbeatEveryMs: 20,
      ...HEADROOM,
      logger: log,
    });
    const ids = await enqueue();
    await until(() => g.running() === 8, "jobs to be in flight");
    await server.capBelowUsed();
    await refused();
    // Its heartbeat still lands: `info` does not show a worker draining the queue as gone.
    const filledAt = Date.now();
    const beat = () => server.redis.sendCommand(["HGET", q.keys.worker(w.name), "seen_at"]);
    await until(async () => Number(await beat()) > filledAt, "a heartbeat on the full Redis");
    g.open();
    await until(async () => (await stat("finished")) === N, "every job to finish");
    expect(await drained()).toBe(true);
    expect(await recorded("finished")).toEqual([...ids].sort()); // each recorded exactly once
    expect([...g.runs.values()].every((n) => n === 1)).toBe(true);
    expect(g.runs.size).toBe(N);
    // The results expire: Redis has room again by itself, and takes new jobs.
    await until(() => count(log, "redis has room again") === 1, "the room-again line");
    expect(count(log, "redis is out of memory")).toBe(1);
    const id = await q.enqueue("echo", { i: N });
    await until(async () => (await q.getJob(id))?.status === "finished", "a new job to run");
    await w.stop();
    expect(log.events()).not.toContain("stopped with unwritten outcomes");
  });

  test("a queue that filled Redis, where every job fails: drains by itself at the default headroom, the oldest letters dropped for new ones, nothing lost", async () => {
    // The realistic way: producers fill a 2 MB Redis until it refuses (~27,000 queued jobs),
    // then a worker whose every job fails for good, with an error of the usual length, runs at
    // the default headroom and nobody purges. On a full Redis a failure keeps a compact letter
    // and drops the oldest one for it once 1,000 are kept (README, "Redis memory"): failing
    // frees the job's stream entry, so the worker never waits for room and the queue drains.
    await using small = await startSmallRedis(2);
    const { prefix, q } = await fillWithJobs(small);
    const cmd = <T = unknown>(args: string[]) => small.redis.sendCommand<T>(args);
    const entries = await readAll(small, q.keys.stream);
    const ids = entries.map(([e]) => e); // auto ids: each job's first entry id
    expect(ids.length).toBeGreaterThan(5_000);
    const error = `${"http://127.0.0.1:9/p".padEnd(60, "x")} resolves to a private address (127.0.0.1), which this worker refuses: run it with --allow-private`;
    const fails = defineTask({
      name: "echo",
      run: async () => {
        throw new PermanentError(error);
      },
    });
    const log = logRecorder();
    const w = await startWorker({
      redisUrl: small.url,
      prefix,
      tasks: [fails],
      concurrency: 1,
      logger: log,
    });
    const stat = async (name: string) => Number(await cmd(["HGET", q.keys.stats, name]));
    await until(
      async () => (await stat("dead")) === ids.length,
      "every job to fail for good, with no purge",
      45_000,
    );
    await w.stop();
    expect(log.events()).toContain("redis is out of memory");
    expect(Number(await cmd(["XLEN", q.keys.stream]))).toBe(0);
    expect(Number((await cmd<[number]>(["XPENDING", q.keys.stream, GROUP]))[0])).toBe(0);
    expect(await stat("failed")).toBe(ids.length);
    // Each failure wrote one letter: kept, or dropped for a newer one and counted. The oldest
    // went first: one at a time, in the stream's order, the letters kept are the last jobs'.
    const letters = await readAll(small, q.keys.dead);
    const f = (fs: string[], k: string) => fs[fs.indexOf(k) + 1];
    const kept = letters.map(([, fs]) => f(fs, "id")!);
    const trimmed = await stat("dead_trimmed");
    expect(trimmed).toBeGreaterThan(ids.length / 2);
    expect(kept.length + trimmed).toBe(ids.length);
    expect(kept).toEqual(entries.slice(-kept.length).map(([e]) => e));
    // The last job failed while Redis was full: its letter is compact.
    const last = letters.at(-1)![1];
    expect([f(last, "record"), f(last, "error")]).toEqual(["dropped", error.slice(0, 100)]);
    // Never past its bound: maxmemory + 10% + (concurrency + STARTS_PER_READ) jobs of 4 kB + the
    // worker's own connections and scripts, its events and the 1,000 letters a full Redis
    // keeps (0.8 MB here; peak measured: 38% past maxmemory, 0.77 MB; keeping every letter
    // would take 3.4 MB more). Before letters were dropped for new ones, this worker stopped
    // starting jobs past the headroom and waited for a purge.
    const info = String(await cmd(["INFO", "memory"]));
    const peak = Number(/^used_memory_peak:(\d+)/m.exec(info)?.[1]);
    const bound = small.maxmemoryBytes * 1.1 + (1 + STARTS_PER_READ) * 4_096 + 800 * 1_024;
    expect(peak).toBeLessThan(bound);
  }, 60_000);

  test("a worker whose results take memory stops within its bound past maxmemory", async () => {
    // Redis checks maxmemory only before a script's first write: what bounds a worker is how
    // many jobs it starts between two reads of INFO (README, "Redis memory"). 64 jobs at once,
    // each leaving a result of the usual size, on a 4 MB Redis that producers filled.
    await using small = await startSmallRedis(4);
    const { prefix, q } = await fillWithJobs(small);
    const result = { text: "y".repeat(480) };
    const ok = defineTask({ name: "echo", run: async () => result });
    const w = await startWorker({ redisUrl: small.url, prefix, tasks: [ok], concurrency: 64 });
    const paused = () => w.problem()?.endsWith("starting no new jobs until it has room") === true;
    await until(() => paused() && w.inFlight === 0, "the worker to stop starting jobs", 30_000);
    await w.stop();
    const info = String(await small.redis.sendCommand(["INFO", "memory"]));
    const peak = Number(/^used_memory_peak:(\d+)/m.exec(info)?.[1]);
    // maxmemory + 10% headroom, + (concurrency + STARTS_PER_READ) jobs of 4 kB, + the worker's
    // own connections and scripts (0.5 MB measured at this concurrency). Without the bound on
    // starts per read: 13 MB.
    const bound = small.maxmemoryBytes * 1.1 + (64 + STARTS_PER_READ) * 4_096 + 512 * 1_024;
    expect(peak).toBeLessThan(bound);
    expect(
      Number(await small.redis.sendCommand(["HGET", q.keys.stats, "finished"])),
    ).toBeGreaterThan(0);
  });

  test("past maxmemory by more than its headroom, a worker starts nothing new until there is room", async () => {
    const { prefix, enqueue, stat, drained, server } = await setup();
    await enqueue();
    await server.capBelowUsed();
    const g = gated();
    g.open();
    const w = await startWorker({
      redisUrl: server.url,
      prefix,
      tasks: [g.task],
      heartbeatEveryMs: 20,
      memoryHeadroomPct: 0,
    });
    // Known at start, before the first take: nothing runs, and /healthz says why.
    expect(w.problem()).toEndWith("; starting no new jobs until it has room");
    expect(g.running()).toBe(0);
    await server.raise(0);
    await until(async () => (await stat("finished")) === N, "every job to finish");
    expect(await drained()).toBe(true);
    expect(w.problem()).toBeNull();
    await w.stop();
  });

  test("stopping on a full Redis releases the jobs it holds", async () => {
    const { q, prefix, enqueue, server } = await setup();
    const endless = defineTask({
      name: "echo",
      run: (_p: unknown, signal) =>
        new Promise((resolve) => signal.addEventListener("abort", () => resolve(null))),
    });
    const log = logRecorder();
    const w = await startWorker({
      redisUrl: server.url,
      prefix,
      tasks: [endless],
      concurrency: 4,
      prefetch: 0, // exactly the 4 running are held (a held entry's release: worker.prefetch)
      logger: log,
    });
    const ids = await enqueue();
    await until(() => w.inFlight === 4, "jobs to be in flight");
    await server.capBelowUsed();
    await w.stop(0);
    const released = log.records.find((r) => r.event === "released unfinished jobs");
    expect(released?.fields.count).toBe(4);
    expect(log.events()).not.toContain("could not release jobs");
    expect(log.events()).not.toContain("stopped with unwritten outcomes");
    const jobs = await q.getJobs(ids);
    expect(jobs.every((j) => j?.status === "queued" && j.attempts === 0)).toBe(true);
    expect(Number(await server.redis.sendCommand(["XLEN", q.keys.stream]))).toBe(N);
  });
});
