// The engine's rare path: tasks a worker lacks (leave.lua) and the tasks a worker has (serve.lua),
// through their typed functions against the real Redis of tests/preload.ts. No attempt is spent.
import { describe, expect, test } from "bun:test";
import { claimLapsed } from "../lib/engine/claim.ts";
import { parseEntry } from "../lib/engine/entry.ts";
import { leaveForOthers } from "../lib/engine/leave.ts";
import { promoteDue } from "../lib/engine/promote.ts";
import { serveTasks } from "../lib/engine/serve.ts";
import { deferralDelaysMs } from "../lib/worker/retry-policy.ts";
import { HOSTILE_IDS, queueKeyNames } from "./fixtures/hostile-ids.ts";
import {
  deliver,
  type EngineQueue,
  engineQueue,
  hgetall,
  pendingRow,
  plant,
  redisNow,
  streamEntries,
} from "./fixtures/plant.ts";
import { commandCalls } from "./helpers.ts";

const DELAYS = [0, 60_000];

async function leave(v: EngineQueue, entry: string, task = "png", consumer = "w1") {
  return await leaveForOthers(v.client, v.k, consumer, DELAYS, [{ entry, id: null, task }]);
}

describe("leave.lua and serve.lua", () => {
  test("no live worker has the task: parked, a unchanged; serve moves it back", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { t: "png", p: '"img"', a: 1, m: 3 });
    await deliver(v, "w1");
    expect(await leave(v, entry)).toEqual(["parked"]);
    expect(await streamEntries(v)).toEqual([]);
    expect(await pendingRow(v, entry)).toBeNull();
    expect(await v.r.sendCommand(["ZRANGE", `${v.k.parkedPrefix}png`, "0", "-1"])).toEqual([entry]);
    const rec = await hgetall(v, v.k.recordPrefix + entry);
    expect(rec).toMatchObject({ status: "queued", waiting_for: "png", t: "png", a: "1", m: "3" });
    expect(await hgetall(v, v.k.tasks)).toEqual({ "parked:png": "1" });

    const before = await redisNow(v);
    expect(await serveTasks(v.client, v.k, ["png"], 60_000)).toEqual({
      moved: 1,
      more: false,
    });
    const after = await redisNow(v);
    const [back] = await streamEntries(v);
    expect(back!.f).toEqual({ t: "png", p: '"img"', a: "1", m: "3", i: entry });
    const moved = await hgetall(v, v.k.recordPrefix + entry);
    expect(moved.e).toBe(back!.id);
    expect(moved.waiting_for).toBeUndefined();
    expect(await v.r.sendCommand(["EXISTS", `${v.k.parkedPrefix}png`])).toBe(0);
    const tasks = await hgetall(v, v.k.tasks);
    expect(Object.keys(tasks)).toEqual(["alive_until:png"]);
    expect(Number(tasks["alive_until:png"])).toBeGreaterThanOrEqual(before + 60_000);
    expect(Number(tasks["alive_until:png"])).toBeLessThanOrEqual(after + 60_000);
  });

  test("a live worker has the task: re-added at once, then through the delayed set", async () => {
    await using v = await engineQueue();
    await serveTasks(v.client, v.k, ["png"], 60_000);
    const entry = await plant(v, { t: "png", a: 0, m: 3 });
    await deliver(v, "w1");
    expect(await leave(v, entry)).toEqual(["deferred"]);
    const [again] = await streamEntries(v);
    expect(again!.f).toMatchObject({ t: "png", a: "0", m: "3", i: entry });
    expect(await hgetall(v, v.k.recordPrefix + entry)).toMatchObject({
      status: "queued",
      e: again!.id,
      deferred: "1",
    });
    // Taken again by a worker without the task: the second deferral waits its delay.
    await deliver(v, "w1");
    const before = await redisNow(v);
    expect(await leave(v, again!.id)).toEqual(["deferred"]);
    expect(await streamEntries(v)).toEqual([]);
    const due = Number(await v.r.sendCommand(["ZSCORE", v.k.delayed, entry]));
    expect(due).toBeGreaterThanOrEqual(before + 60_000);
    await v.r.sendCommand(["ZADD", v.k.delayed, "0", entry]);
    expect(await promoteDue(v.client, v.k)).toBe(1);
    const [promoted] = await streamEntries(v);
    expect(promoted!.f).toMatchObject({ t: "png", a: "0", i: entry });
  });

  test("a re-add that fails leaves the entry pending here: acknowledged only after its job is back", async () => {
    await using v = await engineQueue();
    await serveTasks(v.client, v.k, ["png"], 60_000);
    const entry = await plant(v, { t: "png", a: 0, m: 3 });
    await deliver(v, "w1");
    // The stream at the last possible id: the re-add's XADD fails (an error half-way).
    await v.r.sendCommand(["XSETID", v.k.stream, "18446744073709551615-18446744073709551615"]);
    await expect(leave(v, entry)).rejects.toThrow(/last possible ID/);
    expect(await pendingRow(v, entry)).toEqual({ owner: "w1", deliveries: 1 });
    expect((await streamEntries(v)).map((e) => e.id)).toEqual([entry]);
    // Once the stream takes entries again, the job is left for others as usual.
    await v.r.sendCommand(["XSETID", v.k.stream, entry]);
    expect(await leave(v, entry)).toEqual(["deferred"]);
    expect(await pendingRow(v, entry)).toBeNull();
  });

  test("a claimed entry keeps the attempts of its earlier deliveries: a + deliveries - 1", async () => {
    await using v = await engineQueue();
    await serveTasks(v.client, v.k, ["png"], 60_000);
    const entry = await plant(v, { t: "png", a: 1, m: 5 });
    await deliver(v, "w0");
    await v.r.sendCommand(["XCLAIM", v.k.stream, "workers", "w1", "0", entry]); // deliveries 2
    expect(await leave(v, entry)).toEqual(["deferred"]);
    const [again] = await streamEntries(v);
    expect(again!.f.a).toBe("2");
  });

  test("per call: the liveness read and the parked count once per task, one XACK and one XDEL", async () => {
    await using v = await engineQueue();
    const tasks = ["png", "gif", "png", "png", "gif"];
    const left = [];
    for (const task of tasks) left.push({ entry: await plant(v, { t: task }), id: null, task });
    await deliver(v, "w1");
    const calls = () =>
      Promise.all(["hget", "zcard", "xack", "xdel"].map((c) => commandCalls(v.r, c, v.k.stream)));
    const before = await calls();
    expect(await leaveForOthers(v.client, v.k, "w1", DELAYS, left)).toEqual(
      tasks.map(() => "parked"),
    );
    const after = await calls();
    // hget: alive_until per task; zcard: the parked count per task.
    expect(after.map((n, i) => n - before[i]!)).toEqual([2, 2, 1, 1]);
    expect(await hgetall(v, v.k.tasks)).toEqual({ "parked:png": "3", "parked:gif": "2" });
    expect(await streamEntries(v)).toEqual([]);
    for (const { entry } of left) expect(await pendingRow(v, entry)).toBeNull();
  });

  test("a task whose workers' window ended parks the job", async () => {
    await using v = await engineQueue();
    await v.r.sendCommand(["HSET", v.k.tasks, "alive_until:png", "1"]);
    const entry = await plant(v, { t: "png" });
    await deliver(v, "w1");
    expect(await leave(v, entry)).toEqual(["parked"]);
  });

  test("an entry not pending on this consumer is left alone", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { t: "png" });
    await deliver(v, "w2");
    expect(await leave(v, entry)).toEqual(["gone"]);
    expect(await pendingRow(v, entry)).toEqual({ owner: "w2", deliveries: 1 });
    expect(await v.r.sendCommand(["EXISTS", v.k.recordPrefix + entry])).toBe(0);
  });

  test("an entry of a job that has its outcome is acknowledged, not left for others", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { t: "png" });
    await deliver(v, "w1");
    await v.r.sendCommand(["SET", v.k.resultPrefix + entry, 'F1 1 1 3 - "w0"\n"png"\n1\ntrue']);
    expect(await leave(v, entry)).toEqual(["done"]);
    expect(await pendingRow(v, entry)).toBeNull();
    expect(await streamEntries(v)).toEqual([]);
    expect(await v.r.sendCommand(["EXISTS", `${v.k.parkedPrefix}png`])).toBe(0);
  });

  test("serve keeps a later alive_until another worker set", async () => {
    await using v = await engineQueue();
    const later = (await redisNow(v)) + 3_600_000;
    await v.r.sendCommand(["HSET", v.k.tasks, "alive_until:png", String(later)]);
    await serveTasks(v.client, v.k, ["png"], 1_000);
    expect((await hgetall(v, v.k.tasks))["alive_until:png"]).toBe(String(later));
  });
});

describe("leave.lua and serve.lua on corrupt or unusual data", () => {
  test("an entry without `a` is parked (a '' in the record), not lost", async () => {
    await using v = await engineQueue();
    const entry = String(
      await v.r.sendCommand(["XADD", v.k.stream, "*", "t", "png", "p", "1", "m", "3"]),
    );
    await deliver(v, "w1");
    expect(await leave(v, entry)).toEqual(["parked"]);
    expect(await v.r.sendCommand(["ZRANGE", `${v.k.parkedPrefix}png`, "0", "-1"])).toEqual([entry]);
    expect(await hgetall(v, v.k.recordPrefix + entry)).toMatchObject({ t: "png", a: "", m: "3" });
    expect(await pendingRow(v, entry)).toBeNull();
  });

  test("an entry without `a` deferred through the delayed set is kept there, not lost", async () => {
    await using v = await engineQueue();
    await serveTasks(v.client, v.k, ["png"], 60_000);
    const entry = String(
      await v.r.sendCommand(["XADD", v.k.stream, "*", "t", "png", "p", "1", "m", "3"]),
    );
    await deliver(v, "w1");
    expect(
      await leaveForOthers(v.client, v.k, "w1", [50], [{ entry, id: null, task: "png" }]),
    ).toEqual(["deferred"]);
    expect(await v.r.sendCommand(["ZRANGE", v.k.delayed, "0", "-1"])).toEqual([entry]);
    expect(await pendingRow(v, entry)).toBeNull();
  });

  test("a corrupt parked:<task> count in the tasks hash: parked all the same, the count set from the set", async () => {
    await using v = await engineQueue();
    await v.r.sendCommand(["HSET", v.k.tasks, "parked:png", "x"]);
    const e1 = await plant(v, { t: "png" });
    const e2 = await plant(v, { t: "gif" });
    await deliver(v, "w1");
    const left = [
      { entry: e1, id: null, task: "png" },
      { entry: e2, id: null, task: "gif" },
    ];
    expect(await leaveForOthers(v.client, v.k, "w1", DELAYS, left)).toEqual(["parked", "parked"]);
    expect(await hgetall(v, v.k.tasks)).toEqual({ "parked:png": "1", "parked:gif": "1" });
    expect(await pendingRow(v, e1)).toBeNull();
  });

  test("left after a claim: the re-added entry carries n past the abandoned run, its history kept", async () => {
    await using v = await engineQueue();
    await serveTasks(v.client, v.k, ["png"], 60_000);
    const entry = await plant(v, { t: "png", a: 0, m: 5 });
    await deliver(v, "w0");
    const claimed = await claimLapsed(v.client, v.k, {
      consumer: "w1",
      minIdleMs: 0,
      count: 10,
      failureTtlS: 600,
      deadMaxLen: 100,
      eventsMaxLen: 100,
    });
    expect(claimed.claimed.map((c) => c.kind === "run" && c.runNo)).toEqual([2]);
    expect(await leave(v, entry)).toEqual(["deferred"]);
    const [again] = await streamEntries(v);
    expect(again!.f).toMatchObject({ a: "1", n: "1", i: entry }); // the next run is run 2
    expect(await hgetall(v, v.k.recordPrefix + entry)).toMatchObject({ n: "1" });
    expect((await hgetall(v, v.k.recordPrefix + entry))["h:1:e"]).toMatch(/ abandoned$/);
  });

  test("serve skips a parked key of the wrong type, names it, and still marks every task alive", async () => {
    await using v = await engineQueue();
    await v.r.sendCommand(["SET", `${v.k.parkedPrefix}png`, "x"]);
    const entry = await plant(v, { t: "gif" });
    await deliver(v, "w1");
    expect(await leave(v, entry, "gif")).toEqual(["parked"]);
    const served = await serveTasks(v.client, v.k, ["png", "gif"], 60_000);
    expect(served).toEqual({ moved: 1, more: false, corrupt: ["png"] });
    const tasks = await hgetall(v, v.k.tasks);
    expect(Object.keys(tasks).sort()).toEqual(["alive_until:gif", "alive_until:png"]);
    expect(await v.r.sendCommand(["GET", `${v.k.parkedPrefix}png`])).toBe("x");
  });
});

describe("the deferral delays (lib/worker/retry-policy.ts)", () => {
  test("at once, then 50 ms doubling up to 1 s, each jittered by a quarter", () => {
    expect(deferralDelaysMs(() => 0.5)).toEqual([0, 50, 100, 200, 400, 800, 1000]);
    expect(deferralDelaysMs(() => 0)).toEqual([0, 38, 75, 150, 300, 600, 750]);
  });
});

describe("leave.lua: an entry whose `i` names no job", () => {
  test.each(HOSTILE_IDS)(
    "i %s: re-added as it is, no key built from it; its neighbours parked",
    async (_, bad) => {
      await using v = await engineQueue();
      const before = await plant(v, { t: "png", p: "1" });
      const hostile = await plant(v, { t: "png", p: "2", i: bad });
      const after = await plant(v, { t: "png", p: "3", i: "job-after" });
      await deliver(v, "w1");
      const left = [before, hostile, after].map((entry) => ({ entry, id: null, task: "png" }));
      expect(await leaveForOthers(v.client, v.k, "w1", DELAYS, left)).toEqual([
        "parked",
        "deferred",
        "parked",
      ]);
      const entries = await streamEntries(v);
      expect(entries.map((e) => e.f)).toEqual([{ t: "png", p: "2", a: "0", m: "3", i: bad }]);
      const check = parseEntry(entries[0]!.id, Object.entries(entries[0]!.f).flat());
      expect(check).toMatchObject({ ok: false, problem: "job id is not valid" });
      const parked = `${v.k.parkedPrefix}png`;
      expect(await v.r.sendCommand(["ZRANGE", parked, "0", "-1"])).toEqual([before, "job-after"]);
      expect(await queueKeyNames(v)).toEqual(
        [
          v.k.stream,
          v.k.tasks,
          parked,
          v.k.recordPrefix + before,
          `${v.k.recordPrefix}job-after`,
        ].sort(),
      );
      for (const entry of [before, hostile, after]) expect(await pendingRow(v, entry)).toBeNull();
    },
  );
});
