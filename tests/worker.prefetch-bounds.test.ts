// Prefetch's bounds (lib/worker/prefetch.ts, docs/internals.md "2. Read"): an entry held ahead
// never makes two tasks run at once at concurrency 1 (not through the rate limiter either),
// never starts while its give-back is out, nor once another worker has its lease; a stop gives
// it back without writing a run; a pause stops the give-back timer.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { GROUP, type QueueKeys } from "../lib/engine/keys.ts";
import { parseOutcome } from "../lib/engine/outcome.ts";
import type { Task } from "../lib/types.ts";
import { enqueue, freshQueue, jobs } from "./fixtures/engine.ts";
import {
  openQueue,
  pinShards,
  type RawRedis,
  rawRedis,
  redisUrl,
  startWorker,
  until,
} from "./helpers.ts";

// These tests read one shard's own keys (its pending entries, records): one shard.
pinShards(1);

const quiet = { heartbeatEveryMs: 60_000, claimIdleMs: 60_000 };

/** Entry ids pending on `consumer`. */
async function pendingOn(r: RawRedis, keys: QueueKeys, consumer: string): Promise<string[]> {
  const args = ["XPENDING", keys.stream, GROUP, "-", "+", "100", consumer];
  return ((await r.sendCommand(args)) as [string][]).map((p) => p[0]);
}

async function outcome(r: RawRedis, keys: QueueKeys, id: string) {
  const v = await r.sendCommand(["GET", keys.result(id)]);
  return typeof v === "string" ? parseOutcome(v) : null;
}

/** Events logged by a worker. */
function events() {
  const seen: string[] = [];
  return { seen, logger: { log: (_: string, event: string) => void seen.push(event) } };
}

describe("prefetch and the rate limiter", () => {
  test("a key hold made lately: never two tasks at once at concurrency 1", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    // A hold on another key, over at once: the queue's jobs with a key ask the limiter now.
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
    await admin.holdKey("other.example", 1);
    await admin.close();
    await enqueue(r, keys, jobs(4, { limitKey: "a.example" }));
    const seen = { running: 0, most: 0, done: 0 };
    const task: Task = {
      name: "t",
      run: async (p) => {
        seen.running++;
        seen.most = Math.max(seen.most, seen.running);
        await Bun.sleep(30); // the job's work: long enough for a read ahead to come back
        seen.running--;
        seen.done++;
        return p;
      },
    };
    const { seen: logged, logger } = events();
    const o = { prefix, queue: "q", name: "w1", tasks: [task], concurrency: 1, ...quiet, logger };
    const w = await startWorker({ ...o, prefetch: 1, prefetchWaitMs: 60_000 });
    await until(() => seen.done === 4, "every job done");
    await w.stop();
    expect(seen.most).toBe(1);
    // None read ahead while the limiter may apply (so none given back from its start path).
    expect(logged).not.toContain("job held: every slot is busy; given back unstarted");
  });
});

describe("a held entry whose lease another worker took", () => {
  test("never starts here", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    const got = await enqueue(r, keys, jobs(2));
    const gate = Promise.withResolvers<void>();
    const runs: string[] = [];
    const task: Task = {
      name: "t",
      run: async (p, ctx) => {
        const n = (p as { n: number }).n;
        runs.push(`${n}/${ctx.attempt}`);
        if (n === 0) await gate.promise;
        return p;
      },
    };
    const { seen, logger } = events();
    const o = { prefix, queue: "q", name: "w1", tasks: [task], concurrency: 1, logger };
    // Leases renewed every 300 ms; w2's entry is claimable only 900 ms after it took it.
    const w = await startWorker({
      ...o,
      heartbeatEveryMs: 60_000,
      claimIdleMs: 900,
      prefetch: 1,
      prefetchWaitMs: 60_000,
    });
    await until(() => runs.length === 1, "job 0 running");
    await until(async () => (await pendingOn(r, keys, "w1")).length === 2, "job 1 held");
    const e = got[1]!.entryId!;
    // Another worker takes the held entry over (as a claim after a lapse would).
    await r.sendCommand(["XCLAIM", keys.stream, GROUP, "w2", "0", e, "JUSTID"]);
    const lost = "lease lost, held job dropped (another worker has it)";
    await until(() => seen.includes(lost), "the lease renewal finds it lost");
    gate.resolve(); // job 0 ends: its slot frees
    await until(async () => (await outcome(r, keys, got[0]!.id)) !== null, "job 0 written");
    await w.stop();
    // Never started here as the delivery w1 held (a claim later would be attempt 2).
    expect(runs.filter((x) => x === "1/1")).toEqual([]);
  });
});

describe("a stop with an entry held", () => {
  test("gives it back without a run written: it later runs as run 1 elsewhere", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    const got = await enqueue(r, keys, jobs(2));
    const gate = Promise.withResolvers<void>();
    const task: Task = {
      name: "t",
      run: async (p) => {
        await gate.promise;
        return p;
      },
    };
    const { seen, logger } = events();
    const o = { prefix, queue: "q", concurrency: 1, ...quiet };
    const w1 = await startWorker({
      ...o,
      name: "w1",
      tasks: [task],
      prefetch: 1,
      prefetchWaitMs: 60_000,
      logger,
    });
    await until(async () => (await pendingOn(r, keys, "w1")).length === 2, "job 1 held");
    const record = () => r.sendCommand(["HGETALL", `${keys.recordPrefix}${got[1]!.id}`]);
    const before = (await record()) as string[];
    const stopped = w1.stop(5_000);
    await until(() => seen.includes("stopping: waiting for jobs in flight"), "the stop begun");
    gate.resolve();
    await stopped;
    const after = (await record()) as string[];
    const fields = (flat: string[]) => Object.fromEntries(flat.map((v, i, a) => [v, a[i + 1]]));
    // No run written for a delivery that never ran: `n` as before, no h:1 (`released`).
    expect(fields(after).n ?? "0").toBe(fields(before).n ?? "0");
    expect(Object.keys(fields(after)).filter((k) => k.startsWith("h:"))).toEqual([]);
    expect(seen).toContain("held jobs given back unstarted");
    const w2 = await startWorker({ ...o, name: "w2", tasks: [{ name: "t", run: async (p) => p }] });
    await until(async () => (await outcome(r, keys, got[1]!.id)) !== null, "job 1 done on w2");
    await w2.stop();
    expect(await outcome(r, keys, got[1]!.id)).toMatchObject({ attempt: 1, worker: "w2" });
    await using q = await openQueue({ prefix, queue: "q" });
    const job = await q.getJob(got[1]!.id);
    // One run in its history, w2's: none `released` for the delivery that never ran on w1.
    expect(job?.history.map((h) => h.worker)).toEqual(["w2"]);
  });
});

describe("a held entry while the queue is paused", () => {
  test("the give-back timer stops (no timer each ms) and the entry starts on resume", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    const got = await enqueue(r, keys, jobs(2));
    const gate = Promise.withResolvers<void>();
    const runs: number[] = [];
    const task: Task = {
      name: "t",
      run: async (p) => {
        runs.push((p as { n: number }).n);
        if (runs.length === 1) await gate.promise;
        return p;
      },
    };
    const { seen, logger } = events();
    const o = { prefix, queue: "q", name: "w1", concurrency: 1, ...quiet, pauseCheckMs: 20 };
    const w = await startWorker({ ...o, tasks: [task], prefetch: 1, prefetchWaitMs: 200, logger });
    await until(async () => (await pendingOn(r, keys, "w1")).length === 2, "job 1 held");
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
    const real = globalThis.setTimeout;
    let short = 0; // timers of 1 ms or less armed while paused past the bound
    try {
      expect(await admin.pause()).toBe(true);
      await until(() => seen.includes("queue paused: taking no new jobs"), "the pause seen");
      const idle = () => heldIdleMs(r, keys, "w1", got[1]!.entryId!);
      await until(async () => (await idle()) >= 300, "the bound passed while paused");
      globalThis.setTimeout = ((fn: () => void, ms?: number, ...rest: unknown[]) => {
        if ((ms ?? 0) <= 1) short++;
        return real(fn, ms, ...rest);
      }) as typeof setTimeout;
      await until(async () => (await idle()) >= 800, "half a second more paused");
      globalThis.setTimeout = real;
      expect(short).toBeLessThan(20); // a timer each ms would be some 500
      expect(seen).not.toContain("prefetched job given back: the job before it runs long");
      expect(seen).not.toContain("prefetched job dropped: not pending here any more");
      expect(await admin.resume()).toBe(true);
      gate.resolve();
      await until(async () => (await outcome(r, keys, got[1]!.id)) !== null, "job 1 done");
    } finally {
      globalThis.setTimeout = real;
      await admin.close();
      await w.stop();
    }
    expect(runs).toEqual([0, 1]);
  });
});

/** The idle time of entry `id` pending on `consumer` (ms), -1 when not pending there. */
async function heldIdleMs(r: RawRedis, keys: QueueKeys, consumer: string, id: string) {
  const args = ["XPENDING", keys.stream, GROUP, id, id, "1", consumer];
  const reply = (await r.sendCommand(args)) as [string, string, number, number][];
  return reply.length === 1 ? Number(reply[0]![2]) : -1;
}
