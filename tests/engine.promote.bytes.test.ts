// promote.lua copies whole records (payload included) from the delayed set to the stream, so a
// call stops at a count of jobs or once the records it read reach a number of bytes (R92
// finding 3: 1,000 records of 256 KB made one call of 500 ms); the worker calls again at once
// while more is due. Records of a known size here, the bound injected small.
import { describe, expect, test } from "bun:test";
import { promoteSome } from "../lib/engine/promote.ts";
import { serveTasks } from "../lib/engine/serve.ts";
import { serveTasks as serveAll } from "../lib/worker/presence.ts";
import { promoteAll } from "../lib/worker/retry-policy.ts";
import { type EngineQueue, engineQueue, streamEntries } from "./fixtures/plant.ts";

/**
 * `n` jobs job-0… waiting in `set` (the delayed set, or a task's parked set) in that order,
 * each record weighing exactly `RECORD` bytes.
 */
async function waiting(v: EngineQueue, n: number, set = v.k.delayed, status = "retrying") {
  const ids = Array.from({ length: n }, (_, i) => `job-${i}`);
  for (const [i, id] of ids.entries()) {
    const record = ["status", status, "t", "echo", "p", "x".repeat(1000), "a", "1", "m", "3"];
    await v.r.sendCommand(["HSET", v.k.recordPrefix + id, ...record]);
    await v.r.sendCommand(["ZADD", set, String(i + 1), id]);
  }
  return ids;
}
const delayed = (v: EngineQueue, n: number) => waiting(v, n);
/** The bytes of each record above: its fields' names and values ("retrying", "queued  "). */
const RECORD = 6 + 8 + 1 + 4 + 1 + 1000 + 1 + 1 + 1 + 1;

async function promotedIds(v: EngineQueue): Promise<string[]> {
  return (await streamEntries(v)).map((e) => e.f.i!);
}

describe("promote.lua's bounds", () => {
  test("a call stops once the records read reach the bytes bound; every job promoted once", async () => {
    await using v = await engineQueue();
    const ids = await delayed(v, 10);
    const calls = [];
    // Two records stay under the bound, the third reaches it: three a call.
    for (;;) {
      const step = await promoteSome(v.client, v.k, 1000, 2 * RECORD + 1);
      calls.push(step);
      if (!step.more) break;
    }
    expect(calls).toEqual([
      { moved: 3, more: true },
      { moved: 3, more: true },
      { moved: 3, more: true },
      { moved: 1, more: false },
    ]);
    expect(await promotedIds(v)).toEqual(ids);
    expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(0);
  });

  test("a record heavier than the bound is moved alone", async () => {
    await using v = await engineQueue();
    const ids = await delayed(v, 2);
    expect(await promoteSome(v.client, v.k, 1000, 10)).toEqual({ moved: 1, more: true });
    expect(await promoteSome(v.client, v.k, 1000, 10)).toEqual({ moved: 1, more: false });
    expect(await promotedIds(v)).toEqual(ids);
  });

  test("the count bound says more may be due; the call after finds the rest", async () => {
    await using v = await engineQueue();
    const ids = await delayed(v, 8);
    expect(await promoteSome(v.client, v.k, 4)).toEqual({ moved: 4, more: true });
    expect(await promoteSome(v.client, v.k, 4)).toEqual({ moved: 4, more: true });
    expect(await promoteSome(v.client, v.k, 4)).toEqual({ moved: 0, more: false });
    expect(await promotedIds(v)).toEqual(ids);
  });

  test("the worker's loop calls again while more is due: all promoted, once each", async () => {
    await using v = await engineQueue();
    const ids = await delayed(v, 10);
    let calls = 0;
    const once = () => {
      calls++;
      return promoteSome(v.client, v.k, 1000, 2 * RECORD + 1);
    };
    expect(await promoteAll(once)).toBe(10);
    expect(calls).toBe(4);
    expect(await promotedIds(v)).toEqual(ids);
  });
});

describe("serve.lua's bounds", () => {
  test("parked jobs taken back stop once the records read reach the bytes bound", async () => {
    await using v = await engineQueue();
    // "queued" is 2 bytes shorter than "retrying": three records still reach 2 · RECORD − 1.
    const ids = await waiting(v, 7, `${v.k.parkedPrefix}echo`, "queued");
    const bound = 2 * RECORD - 1;
    const calls = [];
    for (;;) {
      const step = await serveTasks(v.client, v.k, ["echo"], 60_000, 1000, bound);
      calls.push(step);
      if (!step.more) break;
    }
    expect(calls.map((c) => [c.moved, c.more])).toEqual([
      [3, true],
      [3, true],
      [1, false],
    ]);
    expect(await promotedIds(v)).toEqual(ids);
    expect(await v.r.sendCommand(["EXISTS", `${v.k.parkedPrefix}echo`])).toBe(0);
    expect(await v.r.sendCommand(["HGET", v.k.tasks, "parked:echo"])).toBeNull();
  });

  test("the count bound says more when jobs are left, not when the set is just emptied", async () => {
    await using v = await engineQueue();
    const ids = await waiting(v, 4, `${v.k.parkedPrefix}echo`, "queued");
    const serve = () => serveTasks(v.client, v.k, ["echo"], 60_000, 2);
    expect(await serve()).toEqual({ moved: 2, more: true });
    expect(await v.r.sendCommand(["HGET", v.k.tasks, "parked:echo"])).toBe("2");
    expect(await serve()).toEqual({ moved: 2, more: false });
    expect(await promotedIds(v)).toEqual(ids);
  });
});

describe("the worker's serve loop", () => {
  test("takes back every parked job of its tasks, past one call's 1,000", async () => {
    await using v = await engineQueue();
    const parked = `${v.k.parkedPrefix}echo`;
    const ids = Array.from({ length: 1_001 }, (_, i) => `job-${i}`);
    await Promise.all(
      ids.flatMap((id, i) => [
        v.r.sendCommand(["HSET", v.k.recordPrefix + id, "status", "queued", "t", "echo", "p", "1"]),
        v.r.sendCommand(["ZADD", parked, String(i), id]),
      ]),
    );
    expect(await serveAll(v.client, v.k, ["echo"], 60_000)).toEqual({ moved: 1_001, corrupt: [] });
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(1_001);
  });
});

describe("promoteAll", () => {
  test("ends when nothing more is due, or after the call under way once stopped", async () => {
    const steps = (mores: boolean[]) => {
      const left = [...mores];
      let calls = 0;
      const once = async () => {
        calls++;
        return { moved: 2, more: left.shift() ?? false };
      };
      return { once, calls: () => calls };
    };
    const a = steps([true, true, false, true]);
    expect(await promoteAll(a.once)).toBe(6);
    expect(a.calls()).toBe(3);
    const b = steps([true, true, true]);
    let stopped = false;
    const once = async () => {
      const step = await b.once();
      stopped = b.calls() === 2; // the worker stops during the second call
      return step;
    };
    expect(await promoteAll(once, () => stopped)).toBe(4);
    expect(b.calls()).toBe(2);
  });
});

// A stream that can take no more ids (its last id 2^64-1 in both parts, written by hand): the
// XADD that re-adds a job is refused after the job left its set (Redis keeps what a script
// wrote), and the job was lost: gone from the delayed or parked set, never in the stream, its
// record "queued" for ever. It is put back now, and the call fails naming it.
describe("a stream with no ids left", () => {
  const MAX = "18446744073709551615-18446744073709551615";

  test("promote: the job stays in the delayed set, and the call says so", async () => {
    await using v = await engineQueue();
    const ids = await delayed(v, 2);
    await v.r.sendCommand(["XADD", v.k.stream, MAX, "x", "1"]);
    const err = await promoteSome(v.client, v.k).catch((e: unknown) => e);
    expect(String(err)).toContain(`stream ${v.k.stream} refused job job-0, left where it was`);
    expect(await v.r.sendCommand(["ZRANGE", v.k.delayed, "0", "-1"])).toEqual(ids);
  });

  test("serve: the parked job stays parked, at its place, and the call says so", async () => {
    await using v = await engineQueue();
    const set = `${v.k.parkedPrefix}echo`;
    const ids = await waiting(v, 2, set, "queued");
    await v.r.sendCommand(["XADD", v.k.stream, MAX, "x", "1"]);
    const err = await serveTasks(v.client, v.k, ["echo"], 1000).catch((e: unknown) => e);
    expect(String(err)).toContain(`stream ${v.k.stream} refused job job-0, left where it was`);
    expect(await v.r.sendCommand(["ZRANGE", set, "0", "-1", "WITHSCORES"])).toEqual([
      ids[0],
      "1",
      ids[1],
      "2",
    ]);
  });
});
