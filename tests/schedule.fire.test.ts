// Firing recurring schedules against real Redis (lib/schedule/fire.ts, the schedule scripts):
// exactly one job per tick when passes run at once, after a lost enqueue reply, after a crash
// between the enqueue and the advance; a stale advance changes nothing; missed-tick policies;
// a corrupt definition settled alone; a worker fires its queues' schedules unless told not to.
import { describe, expect, test } from "bun:test";
import { type QueueKeys, scheduleJobId, scheduleKeys, shardKeys } from "../lib/engine/keys.ts";
import { openLayout } from "../lib/engine/layout.ts";
import { type Script, scripts } from "../lib/engine/lua.ts";
import { advanceTick, backOffTick, type DueSchedule } from "../lib/engine/schedule.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { TickEnqueuer, tickReceiptTtlMs } from "../lib/schedule/enqueue.ts";
import { BACKOFF_MAX_MS, backoffMs, firePass } from "../lib/schedule/fire.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { LATE_MS, tickAfter } from "../lib/schedule/ticks.ts";
import { defineTask } from "../lib/types.ts";
import { logRecorder, openQueue, redisTime, startWorker, testPrefix, until } from "./helpers.ts";

/** Jobs the queue has had enqueued (created, not found existing), over its shards. */
async function enqueuedCount(client: Redis, keys: readonly QueueKeys[]): Promise<number> {
  const counts = await Promise.all(
    keys.map((k) => client.sendCommand<string | null>(["HGET", k.stats, "enqueued"])),
  );
  return counts.reduce((n, c) => n + Number(c ?? 0), 0);
}

async function setup(queue = "q") {
  const prefix = testPrefix();
  const q = await openQueue({ prefix, queue });
  // The queue made with its shards (6 in the cluster pass), as its first producer or worker does.
  await openLayout(q.client, prefix, queue, q.shards, true);
  const schedules = new Schedules(q.client, prefix, queue);
  const keys = () => shardKeys(prefix, queue, q.shards);
  const sk = scheduleKeys(prefix);
  const pass = (client: Redis = q.client, queues: string[] = []) =>
    firePass({ client, prefix, enqueuer: new TickEnqueuer(client, prefix), queues });
  /** Makes `name`'s stored next tick `ms` (as if it had come due). */
  const due = async (name: string, ms: number, of = queue) => {
    await q.client.sendCommand(["ZADD", sk.next(of), String(ms), name]);
    await q.client.sendCommand(["SADD", sk.queues, of]);
  };
  /**
   * Adds an every-1s schedule `name` whose first tick has come already: its anchor stored one
   * period back, so the tick at the moment it was added is its first, due now (and under
   * LATE_MS late) without a second's wait for Redis' clock to reach it. Returns that tick.
   */
  const addDue = async (name: string) => {
    const { def } = await schedules.add({ name, every: "1s", task: "t" });
    const tick = def!.created_at;
    const back = { ...def!, created_at: tick - 1_000 };
    await q.client.sendCommand(["HSET", sk.defs, name, JSON.stringify(back)]);
    await due(name, tick);
    return { tick, def: back };
  };
  const score = async (name: string, of = queue) => {
    const s = await q.client.sendCommand<string | null>(["ZSCORE", sk.next(of), name]);
    return s === null ? null : Number(s);
  };
  return {
    prefix,
    q,
    schedules,
    keys,
    sk,
    pass,
    due,
    addDue,
    score,
    [Symbol.asyncDispose]: () => q.close(),
  };
}

/** A due read of schedule `name` of queue q at `score` (as a pass would have read it). */
function read(name: string, score: number): DueSchedule {
  return { name, queue: "q", score, tick: score, failures: 0, def: null };
}

/**
 * A connection that runs `script`'s call and then loses its reply (or, `before`, fails first).
 * Its EVAL counts too: a cluster node that lacks the script answers EVALSHA with NOSCRIPT.
 */
function losing(client: Redis, script: Script, when: "after" | "before"): Redis {
  let armed = true;
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== "sendCommand") return Reflect.get(target, prop, receiver);
      return async (args: readonly string[]) => {
        const hit = armed && (args[1] === script.sha || args[1] === script.source);
        if (hit && when === "before") {
          armed = false;
          throw new Error("connection lost before the call");
        }
        const reply = await target.sendCommand(args);
        if (hit) {
          armed = false;
          throw new Error("connection lost: reply not read");
        }
        return reply;
      };
    },
  });
}

describe("one job per tick", () => {
  test("two passes at once fire a due tick once and advance it once", async () => {
    await using s = await setup();
    const { tick, def } = await s.addDue("a");
    const [r1, r2] = await Promise.all([s.pass(), s.pass()]);
    expect(r1.fired + r2.fired).toBe(1);
    expect(await enqueuedCount(s.q.client, s.keys())).toBe(1);
    expect(await s.q.getJob(scheduleJobId("a", tick))).not.toBeNull();
    expect(await s.score("a")).toBe(tickAfter(def, tick));
  });

  // Each failure leaves the tick due (not advanced, backed off a second); the pass after fires
  // it again, finding its job or making it: one job. `made` is how many jobs exist after the failed pass.
  test.each([
    ["the enqueue's reply is lost (the job made)", scripts.enqueue, "after", 1],
    ["a crash before the enqueue is sent", scripts.enqueue, "before", 0],
    ["a crash between the enqueue and the advance", scripts.scheduleAdvance, "before", 1],
  ] as const)("%s: fired again, one job", async (_, script, when, made) => {
    await using s = await setup();
    const { tick } = await s.addDue("a");
    const r1 = await s.pass(losing(s.q.client, script, when));
    expect(r1.stuck.map((x) => x.name)).toEqual(["a"]);
    expect(await enqueuedCount(s.q.client, s.keys())).toBe(made);
    // Not advanced: backed off a second (the loop's next pass reads the others), its tick kept.
    expect(await s.q.client.sendCommand(["HGET", s.sk.failing, "a"])).toBe(`${tick} 1`);
    expect(await s.score("a")).toBe(r1.now + 1_000);
    // The back-off's second gone by: its retry time moved back to the moment it was set.
    await s.due("a", r1.now);
    const r2 = await s.pass();
    expect(r2.fired).toBe(1 - made);
    expect(await s.q.getJob(scheduleJobId("a", tick))).not.toBeNull();
    expect(await enqueuedCount(s.q.client, s.keys())).toBe(1);
    expect(await s.score("a")).toBe(tick + 1_000);
  });

  test("a tick fired again after its job's record expired finds it fired: one job", async () => {
    await using s = await setup();
    const added = await s.schedules.add({ name: "d", every: "1d", task: "t" });
    // Its tick was two hours ago, and its scheduler crashed after the enqueue (no advance).
    const now = added.def!.created_at;
    const def = { ...added.def!, created_at: now - 86_400_000 - 2 * 3_600_000 };
    await s.q.client.sendCommand(["HSET", s.sk.defs, "d", JSON.stringify(def)]);
    const tick = now - 2 * 3_600_000;
    await s.due("d", tick);
    expect(await new TickEnqueuer(s.q.client, s.prefix).enqueue("d", def, tick)).toBe(true);
    // The job ran, and its record expired (resultTtlS, an hour) before a scheduler came back.
    const id = scheduleJobId("d", tick);
    for (const k of s.keys()) await s.q.client.sendCommand(["DEL", k.record(id)]);
    const r = await s.pass();
    expect(r.fired).toBe(0);
    expect(await enqueuedCount(s.q.client, s.keys())).toBe(1);
    expect(await s.score("d")).toBe(tick + 86_400_000);
    // The receipt outlives the last moment the tick could be fired again (its next tick).
    const ttl = tickReceiptTtlMs(def, tick);
    expect(ttl).toBeGreaterThan(86_400_000);
    expect(tickReceiptTtlMs({ ...def, every_ms: 1_000 }, tick)).toBeGreaterThan(LATE_MS);
  });

  test("a caller cannot enqueue a tick's id: the tick's job is the schedule's", async () => {
    await using s = await setup();
    const { tick } = await s.addDue("a");
    const id = scheduleJobId("a", tick);
    await expect(s.q.enqueue("other", { evil: 1 }, { id })).rejects.toThrow(/reserved/);
    expect((await s.pass()).fired).toBe(1);
    expect(await s.q.getJob(id)).toMatchObject({ task: "t" });
  });

  test("an advance from a stale read changes nothing (compare and set)", async () => {
    await using s = await setup();
    const added = await s.schedules.add({ name: "a", every: "1s", task: "t" });
    const tick = added.next!;
    expect(await advanceTick(s.q.client, s.sk, read("a", tick), tick + 1_000)).toBe(true);
    expect(await advanceTick(s.q.client, s.sk, read("a", tick + 1_000), tick + 2_000)).toBe(true);
    // A scheduler that read `tick` long ago now advances it: refused, the schedule stays.
    expect(await advanceTick(s.q.client, s.sk, read("a", tick), tick + 1_000)).toBe(false);
    expect(await s.score("a")).toBe(tick + 2_000);
    // Paused or removed meanwhile (no score): stays so.
    await s.schedules.pause("a");
    expect(await advanceTick(s.q.client, s.sk, read("a", tick + 2_000), tick + 3_000)).toBe(false);
    expect(await s.score("a")).toBeNull();
  });
});

describe("missed ticks", () => {
  test("once: one job, for the latest missed tick; the next tick is in the future", async () => {
    await using s = await setup();
    const added = await s.schedules.add({ name: "m", every: "1m", task: "t" });
    const anchor = added.def!.created_at;
    await s.due("m", anchor - 59 * 60_000); // an hour of ticks missed
    const r = await s.pass();
    expect(r.fired).toBe(1);
    expect(await enqueuedCount(s.q.client, s.keys())).toBe(1);
    // The latest tick at or before now is the anchor's (a minute has not passed since the add).
    expect(await s.q.getJob(scheduleJobId("m", anchor))).not.toBeNull();
    expect(await s.score("m")).toBe(anchor + 60_000);
  });

  test("skip: no job; the next future tick waits", async () => {
    await using s = await setup();
    const added = await s.schedules.add({ name: "m", every: "1m", task: "t", missed: "skip" });
    const anchor = added.def!.created_at;
    await s.due("m", anchor - 59 * 60_000);
    // Let the latest missed tick (the anchor) be more than LATE_MS old: move the anchor back.
    const def = { ...added.def!, created_at: anchor - 30_000 };
    await s.q.client.sendCommand(["HSET", s.sk.defs, "m", JSON.stringify(def)]);
    const r = await s.pass();
    expect(r.fired).toBe(0);
    expect(await enqueuedCount(s.q.client, s.keys())).toBe(0);
    expect(await s.score("m")).toBe(anchor + 30_000);
  });
});

describe("settled alone", () => {
  test("a corrupt definition is reported and backed off; the others fire", async () => {
    await using s = await setup();
    const added = await s.schedules.add({ name: "good", every: "1s", task: "t" });
    await s.q.client.sendCommand(["HSET", s.sk.defs, "bad", "{not json"]);
    await s.due("bad", 1);
    await s.due("good", added.next! - 1_000);
    const r = await s.pass();
    expect(r.fired).toBe(1);
    expect(r.stuck.map((x) => x.name)).toEqual(["bad"]);
    // Backed off: its score is a retry time ahead, its real tick kept aside.
    expect(await s.score("bad")).toBeGreaterThan(r.now);
    expect(await s.q.client.sendCommand(["HGET", s.sk.failing, "bad"])).toBe("1 1");
    // A next tick with no definition at all is dropped.
    await s.due("orphan", 1);
    expect((await s.pass()).stuck).toEqual([]);
    expect(await s.score("orphan")).toBeNull();
    expect((await s.schedules.list()).map((x) => [x.name, x.def === null])).toEqual([
      ["bad", true],
      ["good", false],
    ]);
    expect((await s.schedules.list("q")).map((x) => x.name)).toEqual(["good"]);
    // One Courier wrote, corrupted since: listed with its retry time as its next run (so `info`
    // marks it OVERDUE only once nothing retries it).
    const spoilt = await s.schedules.add({ name: "spoilt", every: "1s", task: "t" });
    await s.q.client.sendCommand(["HSET", s.sk.defs, "spoilt", "[]"]);
    await s.due("spoilt", spoilt.next! - 1_000);
    const r3 = await s.pass();
    expect(r3.stuck.map((x) => x.name)).toEqual(["spoilt"]);
    expect((await s.schedules.get("spoilt"))?.next).toBe(r3.now + 1_000);
  });

  test("a next tick stored as -inf or inf (a hand edit) fires once or waits; no pass spins", async () => {
    await using s = await setup();
    const { def, next } = await s.schedules.add({ name: "odd", every: "1h", task: "t" });
    await s.q.client.sendCommand(["ZADD", s.sk.next("q"), "-inf", "odd"]);
    await s.q.client.sendCommand(["SADD", s.sk.queues, "q"]);
    // Missed (`once`): one job, for the latest tick; then advanced by the compare and set,
    // which a NaN read never matched (the tick was fired again at every pass, at once).
    const r = await s.pass();
    expect(r.fired).toBe(1);
    expect(await s.q.getJob(scheduleJobId("odd", def!.created_at))).not.toBeNull();
    expect(await s.score("odd")).toBe(next);
    expect((await s.pass()).again).toBe(false);
    // Never due: the earliest tick is far off, not NaN (a NaN sleep was 1 ms: a pass a ms).
    await s.q.client.sendCommand(["ZADD", s.sk.next("q"), "inf", "odd"]);
    const later = await s.pass();
    expect([later.again, later.earliest]).toEqual([false, Number.POSITIVE_INFINITY]);
  });

  test("a definition whose payload nests past any payload's depth is corrupt: backed off, never enqueued", async () => {
    await using s = await setup();
    const { def } = await s.addDue("deep");
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const text = JSON.stringify({ ...def, payload: "P" }).replace('"P"', deep);
    await s.q.client.sendCommand(["HSET", s.sk.defs, "deep", text]);
    // Enqueued, its payload took JSON.stringify 5 s (the worker's event loop blocked) to refuse.
    const r = await s.pass();
    expect(r.stuck).toEqual([{ name: "deep", why: "its definition is not one Courier wrote" }]);
    expect((await s.schedules.get("deep"))?.def).toBeNull();
  });

  test("a definition whose payload nests as deep as a payload may (1,000 levels) is read, and fires", async () => {
    await using s = await setup();
    const payload = JSON.parse(`${"[".repeat(1_000)}1${"]".repeat(1_000)}`);
    const spec = { name: "limit", every: "1s", task: "t", payload };
    const { def } = await s.schedules.add(spec);
    expect((await s.schedules.get("limit"))?.def?.payload).toEqual(payload);
    // The same definition again: a no-op, not "exists with another definition".
    await s.schedules.add(spec);
    await s.q.client.sendCommand(["ZADD", s.sk.next("q"), String(def!.created_at - 1), "limit"]);
    expect((await s.pass()).fired).toBe(1);
  });

  test("1000 due schedules of a queue nobody serves never starve a worker's own", async () => {
    await using s = await setup();
    const now = await redisTime(s.q.client);
    const def = { queue: "other", every_ms: 1_000, task: "t", payload: null, missed: "once" };
    const h: string[] = [];
    const z: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      h.push(`o${i}`, JSON.stringify({ ...def, paused: false, created_at: now }));
      z.push(String(now - 60_000), `o${i}`);
    }
    await s.q.client.sendCommand(["HSET", s.sk.defs, ...h]);
    await s.q.client.sendCommand(["ZADD", s.sk.next("other"), ...z]);
    await s.q.client.sendCommand(["SADD", s.sk.queues, "other"]);
    const mine = await s.schedules.add({ name: "zzz", every: "1s", task: "t" });
    await s.due("zzz", mine.next! - 1_000);
    const r = await s.pass(s.q.client, ["q"]);
    expect(r.fired).toBe(1);
    expect(await s.q.getJob(scheduleJobId("zzz", mine.next! - 1_000))).not.toBeNull();
  });

  test("100 schedules that cannot fire never stall the others; each is backed off", async () => {
    await using s = await setup();
    const now = await redisTime(s.q.client);
    for (let i = 0; i < 100; i++) {
      await s.q.client.sendCommand(["HSET", s.sk.defs, `c${i}`, '{"queue":"q"}']);
      await s.due(`c${i}`, now - 60_000);
    }
    const mine = await s.schedules.add({ name: "zzz", every: "1s", task: "t" });
    await s.due("zzz", mine.next! - 1_000);
    const first = await s.pass();
    expect(first.stuck.length).toBe(100);
    expect(first.again).toBe(true); // the loop passes again at once
    const second = await s.pass();
    expect(second.stuck).toEqual([]);
    expect(second.fired).toBe(1);
    // A back-off that fails again waits twice as long.
    const d = { name: "c0", queue: "q", score: 0, tick: now - 60_000, failures: 1, def: null };
    d.score = (await s.score("c0"))!;
    expect(backoffMs(0)).toBe(1_000);
    expect(backoffMs(1)).toBe(2_000);
    expect(backoffMs(40)).toBe(BACKOFF_MAX_MS);
    expect(await backOffTick(s.q.client, s.sk, d, d.score + 5)).toBe(true);
    expect(await s.q.client.sendCommand(["HGET", s.sk.failing, "c0"])).toBe(`${now - 60_000} 2`);
  });
});

describe("in workers", () => {
  const noop = defineTask({ name: "t", run: async () => "ok" });

  test("a worker fires its queues' schedules, not another queue's; --no-schedules none", async () => {
    await using s = await setup("mine");
    await s.schedules.add({ name: "mine", every: "1s", task: "t" });
    await s.schedules.add({ name: "theirs", every: "1s", task: "t", queue: "theirs" });
    const quiet = await startWorker({
      prefix: s.prefix,
      queue: "mine",
      tasks: [noop],
      schedules: false,
    });
    const other = shardKeys(s.prefix, "theirs", 1);
    // The quiet worker fires nothing: two seconds of ticks pass, nothing is enqueued.
    const start = await redisTime(s.q.client);
    await until(async () => (await redisTime(s.q.client)) > start + 2_100, "two ticks", 5_000);
    expect(await enqueuedCount(s.q.client, s.keys())).toBe(0);
    const worker = await startWorker({ prefix: s.prefix, queue: "mine", tasks: [noop] });
    await until(async () => (await enqueuedCount(s.q.client, s.keys())) >= 2, "two ticks fired");
    expect(await enqueuedCount(s.q.client, other)).toBe(0);
    expect(await s.score("theirs", "theirs")).toBeLessThan(await redisTime(s.q.client));
    await Promise.all([worker.stop(0), quiet.stop(0)]);
  });

  test("a schedules key of another type: the worker says so and runs its jobs", async () => {
    await using s = await setup();
    await s.q.client.sendCommand(["SET", s.sk.next("q"), "not a zset"]);
    const log = logRecorder();
    const worker = await startWorker({ prefix: s.prefix, queue: "q", tasks: [noop], logger: log });
    const id = await s.q.enqueue("t", null);
    const done = await s.q.waitForJobs([id], { timeoutMs: 10_000 });
    expect(done.ended.get(id)?.status).toBe("finished");
    await until(() => log.events().includes("could not fire recurring schedules"), "the warning");
    await worker.stop(0);
  });

  test("pause and resume: a paused schedule never fires; resumed, its next tick is ahead", async () => {
    await using s = await setup();
    await s.schedules.add({ name: "p", every: "1s", task: "t" });
    expect(await s.schedules.pause("p")).toBe(true);
    expect(await s.schedules.pause("p")).toBe(false);
    expect(await s.score("p")).toBeNull();
    expect((await s.pass()).fired).toBe(0);
    expect(await s.schedules.resume("p")).toBe(true);
    expect(await s.score("p")).toBeGreaterThan(await redisTime(s.q.client));
    expect(await s.schedules.remove("p")).toBe(true);
    expect(await s.schedules.remove("p")).toBe(false);
    expect(await s.schedules.list()).toEqual([]);
  });
});
