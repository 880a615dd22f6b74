// Running slots freed (limit-done.lua, freeSlots: docs/internals.md, "Rate limits") when one
// limit key's own keys hold another type: that key is skipped and said (its slots free
// themselves at their expiry), the other keys' slots in the same call are freed and their
// waiters woken. The layout key is refused before any write. Against the real Redis of
// tests/preload.ts.
import { expect, test } from "bun:test";
import { limitKeys } from "../lib/engine/keys.ts";
import { freeSlots, reserveSlots } from "../lib/engine/limit.ts";
import { type Limits, writeLimits } from "../lib/engine/limits.ts";
import { QueueLimits } from "../lib/worker/queue-limits.ts";
import { type EngineQueue, engineQueue } from "./fixtures/plant.ts";
import { logRecorder, until } from "./helpers.ts";

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const ask = (jobId: string, limitKey: string) => ({ jobId, limitKey, slotMs: 60_000 });
const o = { horizonMs: 1000, shard: 0 };
const limits: Limits = { rate: null, keyConcurrency: 1, keyRate: null };

/** Keys good and bad under C = 1: a and b run, w and x wait for their slots. */
async function twoKeys(v: EngineQueue) {
  const lk = limitKeys(PREFIX_OF(v), "q");
  await writeLimits(v.client, PREFIX_OF(v), "q", limits);
  const asks = [ask("a", "good"), ask("b", "bad"), ask("w", "good"), ask("x", "bad")];
  const got = await reserveSlots(v.client, lk, o, asks);
  expect(got.map((g) => g.kind)).toEqual(["start", "start", "hold", "hold"]);
  return lk;
}

// biome-ignore format: a table
const KEYS = [["running", "its running set"], ["waiting", "its waiting list"], ["key", "its hash"]] as const;

for (const [which, name] of KEYS) {
  test(`key bad, ${name} a string: good's slot freed and its waiter woken; bad's said, untouched`, async () => {
    await using v = await engineQueue();
    const lk = await twoKeys(v);
    const bad = lk[which]("bad");
    await v.r.sendCommand(["DEL", bad]);
    await v.r.sendCommand(["SET", bad, "not ours"]);
    const told: string[] = [];
    const ended = [
      { jobId: "b", limitKey: "bad" },
      { jobId: "a", limitKey: "good" },
    ];
    const gone = [{ shard: 0, jobId: "x", limitKey: "bad" }];
    const woken = await freeSlots(v.client, lk, ended, gone, (p) => told.push(p));
    expect(woken).toEqual([{ shard: 0, jobId: "w", limitKey: "good" }]);
    expect(told).toEqual([`${bad} holds a string, not a ${which === "key" ? "hash" : "zset"}`]);
    expect(await v.r.sendCommand(["GET", bad])).toBe("not ours");
    expect(await v.r.sendCommand(["ZCARD", lk.running("good")])).toBe(0);
  });
}

test("the layout key of another type: refused naming it, nothing freed", async () => {
  await using v = await engineQueue();
  const lk = await twoKeys(v);
  await v.r.sendCommand(["DEL", lk.layout]);
  await v.r.sendCommand(["SET", lk.layout, "not ours"]);
  const call = freeSlots(v.client, lk, [{ jobId: "a", limitKey: "good" }]);
  await expect(call).rejects.toThrow(`courier: key ${lk.layout} holds a string, not a hash`);
  expect(await v.r.sendCommand(["ZCARD", lk.running("good")])).toBe(1);
});

test("a worker's flush tells the log of the bad key, and frees the good key's slot", async () => {
  await using v = await engineQueue();
  const lk = await twoKeys(v);
  await v.r.sendCommand(["DEL", lk.running("bad")]);
  await v.r.sendCommand(["SET", lk.running("bad"), "not ours"]);
  const log = logRecorder();
  const q = new QueueLimits(
    lk,
    { limits, holdsUntil: 0 },
    () => v.k,
    () => v.client,
    log,
  );
  q.ended({ jobId: "b", limitKey: "bad" });
  q.ended({ jobId: "a", limitKey: "good" });
  await until(() => log.records.length > 0, "told");
  expect(log.records.map((r) => [r.event, r.fields])).toEqual([
    [
      "limit key unreadable: its jobs held a minute at a time until it is deleted",
      { key: lk.running("bad"), problem: "holds a string, not a zset" },
    ],
  ]);
  const free = async () => Number(await v.r.sendCommand(["ZCARD", lk.running("good")])) === 0;
  await until(free, "good's slot freed");
});
