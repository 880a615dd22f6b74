// Running slots and rate holds of limit keys in limit.lua and limit-done.lua (docs/internals.md,
// "Rate limits"), against the real Redis of tests/preload.ts: a run frees only its own running
// slot (per-delivery tokens), and rate holds follow the key's settings and the jobs held now.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { holdEntries } from "../lib/engine/hold.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { freeSlots, type LimitVerdict, reserveSlots, runToken } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import {
  deliver,
  type EngineQueue,
  engineQueue,
  redisNow,
  streamEntries,
} from "./fixtures/plant.ts";
import { redisUrl } from "./helpers.ts";

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

/** `n` entries of key h read by w1 and asked about: the verdicts, and each entry's id. */
async function readKeyed(v: EngineQueue, lk: ReturnType<typeof limitKeys>, n: number) {
  for (let i = 0; i < n; i++) {
    const f = ["t", "echo", "p", "1", "a", "0", "m", "3", "i", `j${i}`, "k", "h"];
    await v.r.sendCommand(["XADD", v.k.stream, "*", ...f]);
  }
  const entries = await deliver(v, "w1");
  const asks = entries.map((_, i) => ({ jobId: `j${i}`, limitKey: "h", slotMs: 60_000 }));
  return { entries, got: await reserveSlots(v.client, lk, o, asks) };
}

const dueOf = (g: LimitVerdict | undefined) => (g as { dueMs: number }).dueMs;

test("held jobs that never came back (canceled) leave no schedule behind: a slot gone unused starts it again", async () => {
  await using v = await engineQueue();
  const lk = await limited(v, { keyRate: { count: 1, perMs: 1000 } });
  const { got } = await readKeyed(v, lk, 30);
  expect(kinds(got)).toEqual(["start", ...Array(29).fill("hold")]);
  // The 29 held jobs are canceled; the key's next slot passes unused (as after a second).
  const now = await redisNow(v);
  await v.r.sendCommand(["HSET", lk.key("h"), "tat", String(now - 1)]);
  const fresh = ["n1", "n2"].map((jobId) => ({ jobId, limitKey: "h", slotMs: 60_000 }));
  const next = await reserveSlots(v.client, lk, o, fresh);
  expect(kinds(next)).toEqual(["start", "hold"]);
  // n2 comes back for the key's next slot, not behind 29 jobs that are gone.
  expect(dueOf(next[1]) - now).toBeLessThan(2_000);
});

test("a key rate cleared wakes the jobs it held: back in the stream now, not on the old schedule", async () => {
  await using v = await engineQueue();
  const prefix = PREFIX_OF(v);
  const lk = await limited(v, { keyRate: { count: 1, perMs: 60_000 } });
  const { entries, got } = await readKeyed(v, lk, 5);
  expect(kinds(got)).toEqual(["start", "hold", "hold", "hold", "hold"]);
  const held = entries.slice(1).map((entryId, i) => ({ entryId, dueMs: dueOf(got[i + 1]) }));
  expect(await holdEntries(v.client, v.k, "w1", held)).toEqual(Array(4).fill("held"));
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
  try {
    await admin.setLimits({ keyRate: null });
  } finally {
    await admin.close();
  }
  expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(0);
  const back = (await streamEntries(v)).filter((e) => !entries.includes(e.id)).map((e) => e.f.i);
  expect(back.sort()).toEqual(["j1", "j2", "j3", "j4"]);
  expect(await v.r.sendCommand(["EXISTS", lk.rateHeld("h")])).toBe(0);
});
