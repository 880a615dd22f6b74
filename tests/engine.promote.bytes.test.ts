// promote.lua copies whole records (payload included) from the delayed set to the stream, so a
// call stops at a count of jobs or once the records it read reach a number of bytes (R92
// finding 3: 1,000 records of 256 KB made one call of 500 ms); the worker calls again at once
// while more is due. Records of a known size here, the bound injected small.
import { describe, expect, test } from "bun:test";
import { promoteSome } from "../lib/engine/promote.ts";
import { promoteAll } from "../lib/worker/retry-policy.ts";
import { type EngineQueue, engineQueue, streamEntries } from "./fixtures/plant.ts";

/** `n` delayed jobs job-0… due in that order, each record weighing exactly `RECORD` bytes. */
async function delayed(v: EngineQueue, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `job-${i}`);
  for (const [i, id] of ids.entries()) {
    const record = ["status", "retrying", "t", "echo", "p", "x".repeat(1000), "a", "1", "m", "3"];
    await v.r.sendCommand(["HSET", v.k.recordPrefix + id, ...record]);
    await v.r.sendCommand(["ZADD", v.k.delayed, String(i + 1), id]);
  }
  return ids;
}
/** The bytes of each record above: its fields' names and values. */
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
