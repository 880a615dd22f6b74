// Running slots and rate holds of limit keys in limit.lua and limit-done.lua (docs/internals.md,
// "Rate limits"), against the real Redis of tests/preload.ts: a run frees only its own running
// slot (per-delivery tokens), and rate holds follow the key's settings and the jobs held now.
import { expect, test } from "bun:test";
import { limitKeys } from "../lib/engine/keys.ts";
import { freeSlots, type LimitVerdict, reserveSlots, runToken } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { type EngineQueue, engineQueue, redisNow } from "./fixtures/plant.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const o = { horizonMs: 1000, shard: 0 };

async function limited(v: EngineQueue, change: Parameters<typeof writeLimits>[3]) {
  await writeLimits(v.client, PREFIX_OF(v), "q", change);
  return limitKeys(PREFIX_OF(v), "q");
}

const kinds = (got: LimitVerdict[]) => got.map((g) => g.kind);

test("a stalled run claimed away, ending late, frees only its own slot, not its claimer's", async () => {
  await using v = await engineQueue();
  const lk = await limited(v, { keyConcurrency: 1 });
  const first = runToken(0, "1-1", 1);
  const claimed = runToken(0, "1-1", 2);
  const ask = (jobId: string, run: string) => ({ jobId, limitKey: "h", slotMs: 60_000, run });
  expect(kinds(await reserveSlots(v.client, lk, o, [ask("J", first)]))).toEqual(["start"]);
  // The worker stalls; another claims J and asks: it takes J's slot over (no second slot).
  expect(kinds(await reserveSlots(v.client, lk, o, [ask("J", claimed)]))).toEqual(["start"]);
  expect(await v.r.sendCommand(["ZRANGE", lk.running("h"), "0", "-1"])).toEqual([claimed]);
  // The stalled run ends (given up): its slot was taken over, the claimer's stays.
  await freeSlots(v.client, lk, [{ jobId: "J", limitKey: "h", run: first }]);
  expect(kinds(await reserveSlots(v.client, lk, o, [ask("K", runToken(0, "2-1", 1))]))).toEqual([
    "hold",
  ]);
  // The claimer's run ends: the slot is free.
  await freeSlots(v.client, lk, [{ jobId: "J", limitKey: "h", run: claimed }]);
  expect(kinds(await reserveSlots(v.client, lk, o, [ask("K", runToken(0, "2-1", 1))]))).toEqual([
    "start",
  ]);
  expect(await v.r.sendCommand(["HEXISTS", lk.key("h"), "run|J"])).toBe(0);
});
