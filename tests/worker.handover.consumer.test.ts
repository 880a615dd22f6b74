// The consumer `<name>~gone` a restarted worker hands its predecessor's entries to leaves the
// group once nothing is pending on it (include/handover.lua): deleted by the claim that empties
// it, or by the next handover under that name; an entry still pending on it keeps it.
import { expect, test } from "bun:test";
import { claimLapsed } from "../lib/engine/claim.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { handOverPredecessor } from "../lib/worker/presence.ts";
import { deliver, type EngineQueue, engineQueue, plant } from "./fixtures/plant.ts";

const OPTS = { minIdleMs: 0, count: 10, failureTtlS: 600, deadMaxLen: 1000, eventsMaxLen: 1000 };

/** The group's consumers (XINFO CONSUMERS) with their pending counts. */
async function consumers(v: EngineQueue): Promise<Record<string, number>> {
  const rows = (await v.r.sendCommand(["XINFO", "CONSUMERS", v.k.stream, GROUP])) as unknown[][];
  const out: Record<string, number> = {};
  for (const row of rows) {
    const m = new Map<unknown, unknown>();
    for (let i = 0; i + 1 < row.length; i += 2) m.set(row[i], row[i + 1]);
    out[String(m.get("name"))] = Number(m.get("pending"));
  }
  return out;
}

test("a claim that takes a handover consumer's last entries deletes it; one left keeps it", async () => {
  await using v = await engineQueue();
  await plant(v);
  await plant(v);
  await deliver(v, "w0");
  await plant(v);
  await deliver(v, "w3"); // a worker's own name, emptied by the same claim
  expect(await handOverPredecessor(v.client, v.k, "w0")).toBe(2);
  expect(await consumers(v)).toEqual({ w0: 0, "w0~gone": 2, w3: 1 });
  // One of two taken: the other is still pending on w0~gone, which stays.
  const first = await claimLapsed(v.client, v.k, { ...OPTS, consumer: "w1", count: 1 });
  expect(first.claimed).toHaveLength(1);
  expect(await consumers(v)).toEqual({ w0: 0, "w0~gone": 1, w1: 1, w3: 1 });
  await claimLapsed(v.client, v.k, { ...OPTS, consumer: "w1", cursor: first.cursor });
  // Emptied: gone. Workers' own names (w0, w3) are left to prune (they are in the workers set).
  expect(await consumers(v)).toEqual({ w0: 0, w1: 3, w3: 0 });
});

test("a handover deletes an empty handover consumer and keeps one that holds entries", async () => {
  await using v = await engineQueue();
  await plant(v);
  await deliver(v, "w0");
  expect(await handOverPredecessor(v.client, v.k, "w0")).toBe(1);
  // Restarted again: the entry handed over before is still pending on w0~gone.
  expect(await handOverPredecessor(v.client, v.k, "w0")).toBe(0);
  expect(await consumers(v)).toEqual({ w0: 0, "w0~gone": 1 });
  // Left empty (as a claim before this version left it): the next handover deletes it.
  await v.r.sendCommand(["XGROUP", "CREATECONSUMER", v.k.stream, GROUP, "w2~gone"]);
  expect(await handOverPredecessor(v.client, v.k, "w2")).toBe(0);
  expect(Object.keys(await consumers(v)).sort()).toEqual(["w0", "w0~gone"]);
});
