// The worker's limiter gate (lib/worker/limited.ts, docs/internals.md "Rate limits") against the
// real Redis of tests/preload.ts, with a stand-in for the worker's Jobs: an entry read again
// (own pending entries after a lost read or a reconnect) while its job runs here is left alone.
import { expect, test } from "bun:test";
import { limitKeys } from "../lib/engine/keys.ts";
import { type Limits, writeLimits } from "../lib/engine/limits.ts";
import { silentLogger } from "../lib/log.ts";
import type { Startable } from "../lib/worker/entries.ts";
import { LimitGate } from "../lib/worker/limited.ts";
import { QueueLimits } from "../lib/worker/queue-limits.ts";
import type { Jobs } from "../lib/worker/running.ts";
import { SlotWaits } from "../lib/worker/waits.ts";
import { deliver, type EngineQueue, engineQueue, hgetall, pendingRow } from "./fixtures/plant.ts";
import { until } from "./helpers.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));

/** A gate over a stand-in Jobs that runs what it launches (never two runs of one entry). */
async function gateOf(v: EngineQueue, limits: Limits, full = () => false) {
  await writeLimits(v.client, PREFIX_OF(v), "q", limits);
  const lk = limitKeys(PREFIX_OF(v), "q");
  const launched: string[] = [];
  /** The moment each launch was told it started (Jobs.launch's `startedMono`). */
  const startedMono: (number | undefined)[] = [];
  const running = new Set<string>();
  const ended: string[] = [];
  const jobs = {
    onEnded: (_: Startable) => {},
    onFreed: () => {},
    waits: null as unknown as SlotWaits,
    has: (entryId: string) => running.has(entryId) || jobs.waits.has(entryId),
    launch(job: Startable, _kind: string, started?: number) {
      jobs.waits.take(job.entryId);
      if (running.has(job.entryId)) return;
      running.add(job.entryId);
      launched.push(job.jobId);
      startedMono.push(started);
    },
  };
  jobs.waits = new SlotWaits(
    () => jobs.onFreed(),
    (j) => jobs.onEnded(j),
  );
  const watch = { limits, holdsUntil: 0 };
  const q = new QueueLimits(
    lk,
    watch,
    () => v.k,
    () => v.client,
    silentLogger,
  );
  q.ended = (e) => void ended.push(e.jobId);
  const gate = new LimitGate(q, jobs as unknown as Jobs, {
    keys: v.k,
    o: { name: "w1" } as never,
    log: silentLogger,
    limitMsOf: () => 10_000,
    client: () => v.client,
    stopping: () => false,
    paused: () => false,
    full,
    readLost: () => {},
  });
  return { gate, lk, launched, startedMono, ended, jobs };
}

async function keyedEntry(v: EngineQueue, id: string): Promise<Startable> {
  const f = ["t", "echo", "p", "1", "a", "0", "m", "3", "i", id, "k", "h"];
  await v.r.sendCommand(["XADD", v.k.stream, "*", ...f]);
  const [entryId] = await deliver(v, "w1");
  const base = { task: "echo", payload: "1", attempt: 1, maxAttempts: 3, runNo: 1 };
  return { ...base, entryId: entryId!, jobId: id, hasRecord: true, deliveries: 1, limitKey: "h" };
}

test("a running job of a held key read again is not asked about, held or re-queued", async () => {
  await using v = await engineQueue();
  const keyRate = { count: 1, perMs: 60_000 };
  const g = await gateOf(v, { rate: null, keyConcurrency: null, keyRate });
  const job = await keyedEntry(v, "X");
  expect(await g.gate.gate([job], "read")).toEqual([]);
  expect(g.launched).toEqual(["X"]);
  const before = await hgetall(v, `${g.lk.keyPrefix}h`);
  // The read's reply was lost: this worker reads its own pending entries, X among them.
  expect(await g.gate.gate([{ ...job, deliveries: 2 }], "claim")).toEqual([]);
  // Not asked again (a second ask is past the key's slot: held, its running entry deleted).
  expect(await hgetall(v, `${g.lk.keyPrefix}h`)).toEqual(before);
  expect(await v.r.sendCommand(["ZRANGE", v.k.delayed, "0", "-1"])).toEqual([]);
  expect((await pendingRow(v, job.entryId))?.owner).toBe("w1");
  expect(g.launched).toEqual(["X"]);
});

test("a running job of a key with a concurrency read again takes no second slot", async () => {
  await using v = await engineQueue();
  const g = await gateOf(v, { rate: null, keyConcurrency: 1, keyRate: null });
  const job = await keyedEntry(v, "X");
  await g.gate.gate([job], "read");
  expect(g.launched).toEqual(["X"]);
  const before = await v.r.sendCommand([
    "ZRANGE",
    `${g.lk.runningPrefix}h`,
    "0",
    "-1",
    "WITHSCORES",
  ]);
  await g.gate.gate([{ ...job, deliveries: 2 }], "claim");
  expect(
    await v.r.sendCommand(["ZRANGE", `${g.lk.runningPrefix}h`, "0", "-1", "WITHSCORES"]),
  ).toEqual(before);
  expect(g.ended).toEqual([]);
});

test("a job waiting for its key's slot whose hold finds it ended leaves the waiting list", async () => {
  await using v = await engineQueue();
  const g = await gateOf(v, { rate: null, keyConcurrency: 1, keyRate: null });
  const running = await keyedEntry(v, "A");
  await g.gate.gate([running], "read");
  const ended = await keyedEntry(v, "B");
  // B ended meanwhile (canceled elsewhere: its outcome is written) while its worker asks.
  await v.r.sendCommand(["SET", `${v.k.resultPrefix}B`, "C"]);
  await g.gate.gate([ended], "read");
  const member = () => v.r.sendCommand(["ZSCORE", `${g.lk.waitingPrefix}h`, "0|B"]);
  await until(async () => (await member()) === null, "B out of the waiting list");
  expect(g.launched).toEqual(["A"]);
});

test("a job whose slot comes while every worker slot runs a task is given back unstarted", async () => {
  await using v = await engineQueue();
  // An entry that came in beyond the slots (a read that raced a key hold): the limiter's start
  // path must not run it past the worker's concurrency.
  let full = true;
  const g = await gateOf(v, { rate: null, keyConcurrency: 1, keyRate: null }, () => full);
  const job = await keyedEntry(v, "X");
  expect(await g.gate.gate([job], "read")).toEqual([]);
  await until(async () => (await pendingRow(v, job.entryId)) === null, "X given back");
  expect(g.launched).toEqual([]);
  expect(g.ended).toEqual(["X"]); // its key's running slot is freed
  full = false;
  const again = await keyedEntry(v, "X");
  await g.gate.gate([again], "read");
  expect(g.launched).toEqual(["X"]);
});

test("a job started at its slot is started as of the check of that slot (the moment the limit bounds)", async () => {
  await using v = await engineQueue();
  const g = await gateOf(v, {
    rate: null,
    keyConcurrency: null,
    keyRate: { count: 1, perMs: 60_000 },
  });
  const job = await keyedEntry(v, "X");
  const before = performance.now();
  await g.gate.gate([job], "read"); // its slot is now: started within the call
  const after = performance.now();
  expect(g.launched).toEqual(["X"]);
  // Given, not read again by the launch after the check: its task's job.startedAt (running.ts).
  expect(g.startedMono[0]).toBeGreaterThanOrEqual(before);
  expect(g.startedMono[0]).toBeLessThanOrEqual(after);
});

test("jobs kept to ask again that left meanwhile (canceled) are swept from the gate", async () => {
  await using v = await engineQueue();
  // One start a minute: the first job starts, every later one is kept to ask again (`L`).
  const g = await gateOf(v, {
    rate: { count: 1, perMs: 60_000 },
    keyConcurrency: null,
    keyRate: null,
  });
  const base = { task: "echo", payload: "1", attempt: 1, maxAttempts: 3, runNo: 1 };
  const job = (n: number): Startable => ({
    ...base,
    ...{ entryId: `1-${n}`, jobId: `J${n}`, hasRecord: true, deliveries: 1 },
  });
  await g.gate.gate([job(0)], "read");
  expect(g.launched).toEqual(["J0"]);
  const first = Array.from({ length: 63 }, (_, i) => job(i + 1));
  await g.gate.gate(first, "read");
  expect(g.gate.kept).toBe(63);
  // Canceled while they wait (Jobs.cancel gives each back): the gate is not told.
  for (const j of first) g.jobs.waits.undefer(j.entryId);
  await g.gate.gate([job(64)], "read");
  // The 64th kept sweeps those gone: only the one still waiting stays (with its payload).
  expect(g.gate.kept).toBe(1);
  g.jobs.waits.drop(true);
});
