// A change of limits takes effect now, not at the next slot the old settings computed
// (docs/internals.md, "Rate limits"): limit.lua retimes a next slot computed under another rate
// (one new spacing after the latest start the last slot given allowed, so the new rate still
// holds), and a worker asks again at once for the jobs it kept to ask later when it sees the
// settings change. Rates of 1 per hour make the old schedule unmistakable. Against the real
// Redis of tests/preload.ts.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { type LimitAsk, reserveSlots } from "../lib/engine/limit.ts";
import { type LimitsChange, writeLimits } from "../lib/engine/limits.ts";
import { defineTask } from "../lib/types.ts";
import { type EngineQueue, engineQueue } from "./fixtures/plant.ts";
import { openQueue, rawRedis, redisUrl, startWorker, testPrefix, until } from "./helpers.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const o = { horizonMs: 1000, shard: 0 };
const ask = (jobId: string, limitKey?: string): LimitAsk => ({
  jobId,
  slotMs: 60_000,
  ...(limitKey && { limitKey }),
});
const HOUR = 3_600_000;
/** Spacings (limit.lua): (interval + late) / N, late = min(20, interval / 20), at least 5. */
const HOURLY = HOUR + 20;
const TENTH_S = (1000 + 20) / 10;

describe("limit.lua, after a change of rate", () => {
  test("the queue's next slot comes one new spacing after the last start's bound, not an hour on", async () => {
    await using v = await engineQueue();
    const lk = limitKeys(PREFIX_OF(v), "q");
    const set = (c: LimitsChange) => writeLimits(v.client, PREFIX_OF(v), "q", c);
    await set({ rate: { count: 1, perMs: HOUR } });
    expect((await reserveSlots(v.client, lk, o, [ask("A")]))[0]?.kind).toBe("start");
    const last = Number(await v.r.sendCommand(["GET", lk.rate])) - HOURLY;
    await set({ rate: { count: 10, perMs: 1000 } });
    const [b] = await reserveSlots(v.client, lk, o, [ask("B")]);
    expect(b?.kind).toBe("start");
    // B's slot: A's slot, its 20 ms bound, one spacing of 10/s; the tail one more on.
    const tail = Number(await v.r.sendCommand(["GET", lk.rate]));
    expect(tail).toBeCloseTo(last + 20 + 2 * TENTH_S, 2);
  });

  test("a key's next slot too, and its held jobs' schedule starts again", async () => {
    await using v = await engineQueue();
    const lk = limitKeys(PREFIX_OF(v), "q");
    const set = (c: LimitsChange) => writeLimits(v.client, PREFIX_OF(v), "q", c);
    await set({ keyRate: { count: 1, perMs: HOUR } });
    const first = await reserveSlots(v.client, lk, o, [ask("A", "h"), ask("B", "h")]);
    expect(first.map((x) => x.kind)).toEqual(["start", "hold"]);
    const last = Number(await v.r.sendCommand(["HGET", lk.key("h"), "tat"])) - HOURLY;
    await set({ keyRate: { count: 10, perMs: 1000 } });
    const [b] = await reserveSlots(v.client, lk, o, [ask("B", "h")]);
    expect(b?.kind).toBe("start");
    const tat = Number(await v.r.sendCommand(["HGET", lk.key("h"), "tat"]));
    expect(tat).toBeCloseTo(last + 20 + 2 * TENTH_S, 2);
    expect(await v.r.sendCommand(["HGET", lk.key("h"), "hold_next"])).toBeNull();
  });
});

/** Four jobs under 1 per hour (of key `k`): one starts, three wait; then `to` is set. */
async function changed(from: LimitsChange, to: LimitsChange) {
  const prefix = testPrefix();
  const ran: string[] = [];
  const job = defineTask<number, null>({
    name: "job",
    run: async (_, _ctx, j) => {
      ran.push(j.id);
      return null;
    },
  });
  await using queue = await openQueue({ prefix, queue: "q" });
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
  await admin.setLimits(from);
  const jobs = await queue.enqueueMany(
    Array.from({ length: 4 }, (_, i) => ({ task: job, payload: i, limitKey: "k" })),
  );
  const worker = await startWorker({
    ...{ prefix, queue: "q", tasks: [job], concurrency: 8 },
    pauseCheckMs: 50,
  });
  try {
    // One runs (whichever its shard's read asked first: on a cluster not always the first
    // enqueued); the others wait (an hour by the old rate).
    await until(() => ran.length > 0, "the first job's run");
    const first = await queue.waitForJobs(ran, { timeoutMs: 10_000 });
    expect(first.pending).toEqual([]);
    expect(ran).toHaveLength(1);
    const rest = jobs.map((j) => j.id).filter((id) => !ran.includes(id));
    await admin.setLimits(to);
    // Well before the old rate's next slot (an hour): within pauseCheckMs and a new spacing.
    const done = await queue.waitForJobs(rest, { timeoutMs: 10_000 });
    expect(done.pending).toEqual([]);
    for (const [, record] of done.ended) expect(record?.attempts).toBe(1);
  } finally {
    await worker.stop(1000);
    await admin.close();
  }
}

const none = { rate: null, keyConcurrency: null, keyRate: null };
const hourly = { count: 1, perMs: HOUR };
const fast = { count: 100, perMs: 1000 };

describe("a worker, when the rate changes", () => {
  test(
    "starts the jobs it kept for the old queue rate's next slot under a faster one",
    () => changed({ ...none, rate: hourly }, { rate: fast }),
    20_000,
  );

  test(
    "starts them at once when the queue rate is removed",
    () => changed({ ...none, rate: hourly }, { rate: null }),
    20_000,
  );

  test(
    "starts the jobs held by the old key rate under a faster one",
    () => changed({ ...none, keyRate: hourly }, { keyRate: fast }),
    20_000,
  );
});

/**
 * Key concurrency 1: a long job of each of `keyCount` keys runs (till the test lets it end),
 * `perKey` more of each key wait for its slot; then the key concurrency becomes `to`.
 */
async function raised(to: number | null, keyCount = 1, perKey = 5) {
  const prefix = testPrefix();
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const job = defineTask<{ long: boolean }, null>({
    name: "job",
    run: async (p) => {
      if (p.long) await held;
      return null;
    },
  });
  await using queue = await openQueue({ prefix, queue: "q" });
  await using r = await rawRedis();
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
  await admin.setLimits({ ...none, keyConcurrency: 1 });
  const keys = Array.from({ length: keyCount }, (_, i) => `k${i}`);
  const spec = (limitKey: string, long: boolean) => ({ task: job, payload: { long }, limitKey });
  const longs = (await queue.enqueueMany(keys.map((k) => spec(k, true)))).map((j) => j.id);
  const worker = await startWorker({
    ...{ prefix, queue: "q", tasks: [job], concurrency: keyCount * (perKey + 1) + 8 },
    pauseCheckMs: 50,
  });
  const started = async () => (await queue.getJobs(longs)).every((j) => j?.status === "started");
  try {
    await until(started, "the long jobs' starts", 30_000);
    const short = await queue.enqueueMany(
      keys.flatMap((k) => Array.from({ length: perKey }, () => spec(k, false))),
    );
    const lk = limitKeys(prefix, "q");
    const waiting = async () => {
      let n = 0;
      for (const k of keys) n += Number(await r.sendCommand(["ZCARD", lk.waiting(k)]));
      return n === keyCount * perKey;
    };
    await until(waiting, "every short job waiting for its key's slot", 30_000);
    await admin.setLimits({ keyConcurrency: to });
    // While the long jobs still run (a slot would free itself only past its 180 s limit).
    const done = await queue.waitForJobs(
      short.map((j) => j.id),
      { timeoutMs: 10_000 },
    );
    expect(done.pending).toEqual([]);
    expect(await started()).toBe(true);
  } finally {
    release();
    await worker.stop(1000);
    await admin.close();
  }
}

describe("a key concurrency raised or removed", () => {
  // The test's own bounds (its steps' 30 s and the wait's 10 s) are what judge it: a 20 s cap on
  // the whole cut a loaded full run's cluster pass short once, steps unfinished.
  test("wakes the jobs waiting for a running slot of their key (raised)", () => raised(10), 60_000);
  test("wakes them (removed)", () => raised(null), 60_000);
  // However many keys wait (RR1): the wake pages limit:keys, and a first version of this
  // release took each key off that list as its waiters were woken, so the list shrank under the
  // page's offset and every key past the first 200 was skipped (waiting minutes for its
  // fallback, the running slot's expiry).
  test("wakes the waiters of all 250 held keys (raised)", () => raised(2, 250, 1), 90_000);
});
