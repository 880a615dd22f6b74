// A key's waiting list (`limit:waiting:<key>`) holding members that name no job of the queue
// (a hand edit: no `<shard>|<job id>`, a shard the queue does not have, an id no job may have):
// limit-done.lua drops them as it wakes, so a freed slot reaches the real waiter behind them.
// Woken in vain before, each took the slot (marked woken, never dropped) and the waiter behind
// waited for its fallback, the first running slot's expiry (186 s by default). Against the
// real Redis of tests/preload.ts.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { holdEntries } from "../lib/engine/hold.ts";
import { freeAndWake } from "../lib/engine/key-wake.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { type LimitVerdict, reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { corruptTeller } from "../lib/worker/limit-corrupt.ts";
import { deliver, type EngineQueue, engineQueue, streamEntries } from "./fixtures/plant.ts";
import { logRecorder, redisUrl } from "./helpers.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const ask = (jobId: string) => ({ jobId, limitKey: "h", slotMs: 186_000 });

/** A and B of key h under C = 1: A runs, B waits for its slot (held in the delayed set). */
async function aRunsBWaits(v: EngineQueue) {
  const limits = { rate: null, keyConcurrency: 1, keyRate: null };
  await writeLimits(v.client, PREFIX_OF(v), "q", limits);
  const lk = limitKeys(PREFIX_OF(v), "q");
  for (const id of ["A", "B"]) {
    const f = ["t", "echo", "p", "1", "a", "0", "m", "3", "i", id, "k", "h"];
    await v.r.sendCommand(["XADD", v.k.stream, "*", ...f]);
  }
  const [, eb] = await deliver(v, "w1");
  const got = await reserveSlots(v.client, lk, { horizonMs: 1000, shard: 0 }, ["A", "B"].map(ask));
  expect(got.map((g) => g.kind)).toEqual(["start", "hold"]);
  const dueMs = (got[1] as LimitVerdict & { dueMs: number }).dueMs;
  expect(await holdEntries(v.client, v.k, "w1", [{ entryId: eb!, dueMs }])).toEqual(["held"]);
  return lk;
}

// No `|`, a shard the queue does not have, shard numbers not as limit.lua writes them, no id,
// an id no job may have: more of them than freeAndWake's rounds.
const BAD = ["junk", "7|K", "0x0|M", " 0|N", "1.0|P", "00|R", "|Q", "0|", "0|bad id!"];

test("members naming no job ahead of a waiter are dropped, and the freed slot wakes it", async () => {
  await using v = await engineQueue();
  const lk = await aRunsBWaits(v);
  const place = Number(await v.r.sendCommand(["ZSCORE", lk.waiting("h"), "0|B"]));
  const planted = BAD.flatMap((m, i) => [String(place - 1 + (i + 1) / 100), m]);
  await v.r.sendCommand(["ZADD", lk.waiting("h"), ...planted]);
  const told: string[] = [];
  const shardKeys = (s: number) => (s === 0 ? v.k : undefined);
  const woken = await freeAndWake(v.client, lk, shardKeys, { ended: [ask("A")] }, (p) =>
    told.push(p),
  );
  expect(woken.map((w) => w.jobId)).toEqual(["B"]);
  expect((await streamEntries(v)).map((e) => e.f.i)).toContain("B");
  expect(await v.r.sendCommand(["ZRANGE", lk.waiting("h"), "0", "-1"])).toEqual(["0|B"]);
  // Said once, in one line, naming the list and the first member dropped; a worker logs it so.
  const line = `${lk.waiting("h")}: 9 members naming no job of the queue dropped, the first "junk"`;
  expect(told).toEqual([line]);
  const log = logRecorder();
  const tell = corruptTeller(log);
  tell(line, "dropped");
  tell(line, "dropped");
  expect(log.records.map((r) => [r.event, r.fields])).toEqual([
    ["limit key waiting list: members naming no job dropped", { problem: line }],
  ]);
});

test("one marked woken before (a free tried again) is dropped too, not woken again", async () => {
  await using v = await engineQueue();
  const lk = await aRunsBWaits(v);
  const place = Number(await v.r.sendCommand(["ZSCORE", lk.waiting("h"), "0|B"]));
  await v.r.sendCommand(["ZADD", lk.waiting("h"), String(-(place - 0.5)), "junk"]);
  const shardKeys = (s: number) => (s === 0 ? v.k : undefined);
  const freed = { ended: [ask("A")], again: ["h"] };
  const woken = await freeAndWake(v.client, lk, shardKeys, freed);
  expect(woken.map((w) => w.jobId)).toEqual(["B"]);
  expect(await v.r.sendCommand(["ZRANGE", lk.waiting("h"), "0", "-1"])).toEqual(["0|B"]);
});

test("a dropped member whose text holds ' holds a ' is told as dropped, not as a key unreadable", async () => {
  await using v = await engineQueue();
  const lk = await aRunsBWaits(v);
  const place = Number(await v.r.sendCommand(["ZSCORE", lk.waiting("h"), "0|B"]));
  const junk = "x holds a string, not a zset";
  await v.r.sendCommand(["ZADD", lk.waiting("h"), String(place - 0.5), junk]);
  const log = logRecorder();
  const shardKeys = (s: number) => (s === 0 ? v.k : undefined);
  await freeAndWake(v.client, lk, shardKeys, { ended: [ask("A")] }, corruptTeller(log));
  const line = `${lk.waiting("h")}: 1 members naming no job of the queue dropped, the first ${JSON.stringify(junk)}`;
  expect(log.records.map((r) => [r.event, r.fields])).toEqual([
    ["limit key waiting list: members naming no job dropped", { problem: line }],
  ]);
});

test("`queue limit` says a dropped member as it is, not as a key unreadable, whatever its text", async () => {
  await using v = await engineQueue();
  const lk = await aRunsBWaits(v);
  const place = Number(await v.r.sendCommand(["ZSCORE", lk.waiting("h"), "0|B"]));
  const junk = "x holds a string, not a zset";
  await v.r.sendCommand(["ZADD", lk.waiting("h"), String(place - 0.5), junk]);
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix: PREFIX_OF(v), queue: "q" });
  const told: string[] = [];
  try {
    await admin.setLimits({ keyConcurrency: 2 }, (line) => told.push(line));
  } finally {
    await admin.close();
  }
  const line = `${lk.waiting("h")}: 1 members naming no job of the queue dropped, the first ${JSON.stringify(junk)}`;
  expect(told).toEqual([line]);
});
