// Workers on a full Redis (maxmemory reached, noeviction): they start, drain the queue, record
// every outcome exactly once, release what they hold when stopped, and say that Redis is full
// in one log line (and one when it has room again). Each test starts its own redis-server and
// fills it deterministically: the jobs go in first, then maxmemory is set just under what is used.
import { afterEach, describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { PermanentError, RedisFullError } from "../lib/errors.ts";
import { STARTS_PER_READ } from "../lib/redis/memory.ts";
import { findFreePort } from "../lib/stack/redis-server.ts";
import { defineTask } from "../lib/types.ts";
import { type SmallRedis, startSmallRedis } from "./fixtures/redis-small.ts";
import { logRecorder, openQueue, startWorker, testPrefix, until } from "./helpers.ts";

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

/** Producers fill `small` the realistic way: "echo" jobs, 200 at a time, until it refuses. */
async function fillWithJobs(small: SmallRedis) {
  const prefix = testPrefix();
  const q = await openQueue({ redisUrl: small.url, prefix });
  closeQueue = () => q.close();
  let i = 0;
  const batch = () => [...Array(200).keys()].map(() => ({ task: "echo", payload: { i: i++ } }));
  await expect(
    (async () => {
      for (;;) await q.enqueueMany(batch());
    })(),
  ).rejects.toBeInstanceOf(RedisFullError);
  return { prefix, q };
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

  test("a queue that filled Redis, where every job fails: dead-letters up to the headroom, waits for room, goes on once letters are purged, loses nothing", async () => {
    // The realistic way: producers fill a 4 MB Redis until it refuses (~75,000 queued jobs of
    // ~40 B), then a worker whose every job fails for good, with an error of the usual length,
    // runs at the default headroom. A dead letter (even compact) outweighs the entry it
    // replaces, so failing takes memory (README, "Redis memory"): the worker stops starting
    // jobs past the headroom and waits; `dead purge --all` makes room and it goes on by itself.
    await using small = await startSmallRedis(4);
    const { prefix, q } = await fillWithJobs(small);
    const cmd = <T = unknown>(args: string[]) => small.redis.sendCommand<T>(args);
    const entries = await readAll(small, q.keys.stream);
    const ids = entries.map(([e]) => e).sort(); // auto ids: each job's first entry id
    expect(ids.length).toBeGreaterThan(5_000);
    const error = `${"http://127.0.0.1:9/p".padEnd(60, "x")} resolves to a private address (127.0.0.1), which this worker refuses: run it with --allow-private`;
    const fails = defineTask({
      name: "echo",
      run: async () => {
        throw new PermanentError(error);
      },
    });
    // A 50% headroom: on a 4 MB Redis the worker's own connections and scripts (some 0.6 MB)
    // would use up the default 10% before the first letter, and purging letters could not
    // make room (what fills Redis then is the queued jobs: only a larger maxmemory helps).
    const headroomPct = 50;
    const w = await startWorker({
      redisUrl: small.url,
      prefix,
      tasks: [fails],
      concurrency: 1,
      memoryHeadroomPct: headroomPct,
    });
    const admin = await Admin.connect({ redisUrl: small.url, prefix });
    const dead = async () => Number(await cmd(["HGET", q.keys.stats, "dead"]));
    const waiting = () => w.problem()?.endsWith("starting no new jobs until it has room") === true;
    const lettered: string[] = [];
    let compact = 0;
    let waits = 0;
    try {
      while ((await dead()) < ids.length) {
        await until(
          async () => (waiting() && w.inFlight === 0) || (await dead()) === ids.length,
          "the worker to wait for room, or every job to be dead-lettered",
          30_000,
        );
        if (waiting()) waits++;
        // The operator purges; the letters are read first, and the purge must delete exactly
        // those (nothing is written while the worker waits).
        const letters = await readAll(small, q.keys.dead);
        const f = (fs: string[], k: string) => fs[fs.indexOf(k) + 1];
        for (const [, fs] of letters) {
          lettered.push(f(fs, "id")!);
          if (f(fs, "record") === "dropped") {
            // Written while Redis was full: the error cut, no outcome kept.
            expect(f(fs, "error")).toBe(error.slice(0, 100));
            compact++;
          }
        }
        expect(await admin.purgeDead()).toBe(letters.length);
        // It goes on by itself once it reads that there is room.
        if (waiting()) await until(() => !waiting(), "the worker to go on after the purge");
      }
    } finally {
      await admin.close();
    }
    await w.stop();
    expect(waits).toBeGreaterThan(0); // it did stop for room at least once
    expect(compact).toBeGreaterThan(0);
    expect(await dead()).toBe(ids.length);
    expect(lettered.sort()).toEqual(ids); // every job dead-lettered exactly once: none lost
    expect(Number(await cmd(["XLEN", q.keys.stream]))).toBe(0);
    expect(Number((await cmd<[number]>(["XPENDING", q.keys.stream, GROUP]))[0])).toBe(0);
    // Never past its bound: maxmemory + the headroom + (concurrency + STARTS_PER_READ) jobs of
    // 4 kB + 256 kB of client buffers (the pages of letters this test reads while the worker
    // waits at the peak: 140 kB measured). Without the bound (a worker that goes on while
    // failures take memory): 15 MB.
    const info = String(await cmd(["INFO", "memory"]));
    const peak = Number(/^used_memory_peak:(\d+)/m.exec(info)?.[1]);
    const bound =
      small.maxmemoryBytes * (1 + headroomPct / 100) + (1 + STARTS_PER_READ) * 4_096 + 256 * 1_024;
    expect(peak).toBeLessThan(bound);
  });

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
