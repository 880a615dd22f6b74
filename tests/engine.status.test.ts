// The engine's read-back (lib/engine/status.ts, lua/status.lua) against a real Redis: a job's
// status comes from where it is (outcome, record, pending list, stream, delayed set), in
// today's JobRecord shape.
import { describe, expect, test } from "bun:test";
import { buryEntries } from "../lib/engine/bury.ts";
import { claimLapsed } from "../lib/engine/claim.ts";
import { parseEntry } from "../lib/engine/entry.ts";
import { readStatuses } from "../lib/engine/status.ts";
import { asClient, enqueue, freshQueue, redisTime, take } from "./fixtures/engine.ts";
import { finishItems } from "./fixtures/finish.ts";
import { deliver, type EngineQueue, engineQueue, plant } from "./fixtures/plant.ts";
import { rawRedis } from "./helpers.ts";

describe("status", () => {
  test("queued, started (with its owner), finished, failed, delayed, unknown", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const [a, b, c] = await enqueue(r, keys, [
      { task: "t", payload: '{"n":1}', maxAttempts: 3 },
      { task: "t", payload: '{"n":2}', maxAttempts: 3 },
      { id: "given-3", task: "u", payload: '{"n":3}', maxAttempts: 2 },
    ]);
    const beforeD = await redisTime(r);
    const [d] = await enqueue(r, keys, [
      { task: "t", payload: "4", maxAttempts: 1, delayMs: 60_000 },
    ]);
    const afterD = await redisTime(r);
    const ids = [a!.id, b!.id, "given-3", d!.id, "never-enqueued"];
    const msOf = (id: string) => Number(id.split("-")[0]);

    let [ja, jb, jc, jd, unknown] = await readStatuses(asClient(r), keys, ids);
    expect(ja).toEqual({
      id: a!.id,
      task: "t",
      status: "queued",
      payload: { n: 1 },
      attempts: 0,
      maxAttempts: 3,
      enqueuedAt: msOf(a!.id),
      startedAt: null,
      endedAt: null,
      worker: null,
      result: null,
      error: null,
      history: [],
      runAt: null,
      progress: null,
    });
    expect(jb?.status).toBe("queued");
    expect(jc).toMatchObject({ status: "queued", task: "u", enqueuedAt: msOf(c!.entryId!) });
    // Delayed and not yet due by Redis' clock: scheduled, with the time it runs.
    expect(jd).toMatchObject({ status: "scheduled", payload: 4, maxAttempts: 1 });
    expect(jd!.runAt).toBeGreaterThanOrEqual(beforeD + 60_000);
    expect(jd!.runAt).toBeLessThanOrEqual(afterD + 60_000);
    expect(unknown).toBeNull();

    // Read by w1: started, from the pending list; nothing was written at the start.
    const read = await take(r, keys, "w1", 3);
    [ja, jb, jc] = await readStatuses(asClient(r), keys, ids.slice(0, 3));
    expect(ja).toMatchObject({ status: "started", worker: "w1", attempts: 1, startedAt: null });
    expect(jc).toMatchObject({ status: "started", worker: "w1", attempts: 1, task: "u" });

    // a finishes, b is buried (as if corrupt), c still runs.
    const before = await redisTime(r);
    const check = parseEntry(read[0]![0], read[0]![1]);
    if (!check.ok) throw new Error(check.problem);
    const w = { consumer: "w1", resultTtlS: 60, eventsMaxLen: 100 };
    await finishItems(asClient(r), keys, w, [
      {
        entryId: a!.id,
        jobId: a!.id,
        hasRecord: false,
        runMs: 12,
        attempt: 1,
        maxAttempts: 3,
        enqueuedAt: null,
        worker: "w1",
        task: "t",
        payload: check.job.payload,
        result: '{"ok":1}',
      },
    ]);
    const o = { consumer: "w1", failureTtlS: 60, deadMaxLen: 100, eventsMaxLen: 100 };
    await buryEntries(asClient(r), keys, o, [{ entryId: b!.id, id: b!.id, problem: "made up" }]);
    const after = await redisTime(r);
    [ja, jb, jc] = await readStatuses(asClient(r), keys, ids.slice(0, 3));
    expect(ja).toMatchObject({
      status: "finished",
      task: "t",
      payload: { n: 1 },
      result: { ok: 1 },
      attempts: 1,
      maxAttempts: 3,
      worker: "w1",
      enqueuedAt: msOf(a!.id),
      error: null,
    });
    expect(ja!.endedAt! - ja!.startedAt!).toBe(12);
    expect(ja!.endedAt).toBeGreaterThanOrEqual(before);
    expect(ja!.endedAt).toBeLessThanOrEqual(after);
    expect(ja!.history).toEqual([
      {
        attempt: 1,
        worker: "w1",
        startedAt: ja!.startedAt,
        endedAt: ja!.endedAt,
        error: null,
        outcome: "finished",
      },
    ]);
    expect(jb).toMatchObject({
      status: "failed",
      task: "t",
      payload: { n: 2 },
      error: "corrupt record: made up",
      result: null,
      maxAttempts: 3,
      enqueuedAt: msOf(b!.id),
    });
    expect(jc?.status).toBe("started");
  });

  test("a record says retrying (in the delayed set) or waiting for a task (parked)", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    // Records as the rare path writes them (fail.lua, leave.lua): planted here, read back.
    const fields = ["t", "t", "p", "{}", "a", "1", "m", "3", "q", "1764423456789"];
    const history = [
      "h:1",
      "1 1764423456800 w1",
      "h:1:e",
      "1764423456900 retrying",
      "h:1:x",
      "boom",
    ];
    await r.sendCommand([
      "HSET",
      keys.record("r-1"),
      ...fields,
      "status",
      "retrying",
      "error",
      "boom",
      ...history,
    ]);
    await r.sendCommand(["ZADD", keys.delayed, "1764423459999", "r-1"]);
    await r.sendCommand([
      "HSET",
      keys.record("p-1"),
      ...fields,
      "status",
      "queued",
      "waiting_for",
      "resize",
    ]);
    await r.sendCommand(["ZADD", `${keys.parkedPrefix}resize`, "1", "p-1"]);
    // Delayed records that are not scheduled: one due already (Redis' clock; no worker has
    // promoted it yet), and one left for another worker (`deferred`), due in the future.
    await r.sendCommand(["HSET", keys.record("due-1"), ...fields, "status", "queued"]);
    await r.sendCommand(["ZADD", keys.delayed, "1", "due-1"]);
    const deferred = [...fields, "status", "queued", "deferred", "1"];
    await r.sendCommand(["HSET", keys.record("def-1"), ...deferred]);
    await r.sendCommand(["ZADD", keys.delayed, "99999999999999", "def-1"]);
    const [retrying, parked, due, left] = await readStatuses(asClient(r), keys, [
      "r-1",
      "p-1",
      "due-1",
      "def-1",
    ]);
    expect(due).toMatchObject({ status: "queued", runAt: null });
    expect(left).toMatchObject({ status: "queued", runAt: null });
    expect(retrying).toMatchObject({
      runAt: 1764423459999,
      status: "retrying",
      attempts: 1,
      maxAttempts: 3,
      error: "boom",
      enqueuedAt: 1764423456789,
      history: [
        {
          attempt: 1,
          worker: "w1",
          startedAt: 1764423456800,
          endedAt: 1764423456900,
          error: "boom",
          outcome: "retrying",
        },
      ],
    });
    expect(parked).toMatchObject({ status: "queued", note: 'no live worker has task "resize"' });
  });

  test("an outcome decides before the record: a job claimed (record says started), then finished", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const [job] = await enqueue(r, keys, [{ task: "t", payload: "1", maxAttempts: 3 }]);
    await take(r, keys, "w1", 1);
    const o = { minIdleMs: 0, count: 10, failureTtlS: 600, deadMaxLen: 100, eventsMaxLen: 100 };
    const { claimed } = await claimLapsed(asClient(r), keys, { ...o, consumer: "w2" });
    expect(claimed.map((c) => c.kind)).toEqual(["run"]);
    expect(await r.sendCommand(["HGET", keys.record(job!.id), "status"])).toBe("started");
    const w2 = { consumer: "w2", resultTtlS: 600, eventsMaxLen: 1000 };
    const run = { entryId: job!.id, jobId: job!.id, hasRecord: true, runMs: 3, attempt: 2 };
    const done = { ...run, maxAttempts: 3, enqueuedAt: null, worker: "w2", task: "t" };
    await finishItems(asClient(r), keys, w2, [{ ...done, payload: "1", result: '"ok"' }]);
    const [read] = await readStatuses(asClient(r), keys, [job!.id]);
    expect(read).toMatchObject({ status: "finished", result: "ok", attempts: 2, worker: "w2" });
  });
});

describe("the history of a job taken over while its worker stalled", () => {
  const LAPSED = { minIdleMs: 0, count: 10, failureTtlS: 600, deadMaxLen: 100, eventsMaxLen: 100 };
  /** A job of 3 attempts, delivered to `consumer` (its lease lapses at once: minIdleMs 0). */
  const deliveredTo = async (v: EngineQueue, consumer: string) => {
    const entry = await plant(v, { t: "echo", p: "{}", a: 0, m: 3 });
    await deliver(v, consumer);
    return entry;
  };

  test("the stalled run that finished first shows once, as finished, not also as abandoned", async () => {
    await using v = await engineQueue();
    const entry = await deliveredTo(v, "wA");
    const claimed = await claimLapsed(v.client, v.k, { consumer: "wB", ...LAPSED });
    expect(claimed.claimed.map((c) => c.kind)).toEqual(["run"]); // run 1 written as abandoned
    // wA wakes up and finishes its run (attempt 1) before wB's run ends.
    const run = { attempt: 1, maxAttempts: 3, enqueuedAt: null, worker: "wA", task: "echo" };
    const item = { ...run, entryId: entry, jobId: entry, hasRecord: false, runMs: 5 };
    const w = { consumer: "wA", resultTtlS: 60, eventsMaxLen: 100 };
    await finishItems(v.client, v.k, w, [{ ...item, payload: "{}", result: "1" }]);
    const [job] = await readStatuses(v.client, v.k, [entry]);
    expect(job!.history.map((h) => [h.attempt, h.worker, h.outcome])).toEqual([
      [1, "wA", "finished"],
    ]);
  });

  test("an abandoned run followed by the claimer's finish keeps both", async () => {
    await using v = await engineQueue();
    const entry = await deliveredTo(v, "wA");
    await claimLapsed(v.client, v.k, { consumer: "wB", ...LAPSED });
    const run = { attempt: 2, maxAttempts: 3, enqueuedAt: null, worker: "wB", task: "echo" };
    const item = { ...run, entryId: entry, jobId: entry, hasRecord: true, runMs: 5 };
    const w = { consumer: "wB", resultTtlS: 60, eventsMaxLen: 100 };
    await finishItems(v.client, v.k, w, [{ ...item, payload: "{}", result: "1" }]);
    const [job] = await readStatuses(v.client, v.k, [entry]);
    expect(job!.history.map((h) => [h.attempt, h.worker, h.outcome])).toEqual([
      [1, "wA", "abandoned"],
      [2, "wB", "finished"],
    ]);
  });
});
