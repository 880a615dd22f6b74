// The jobs held back by a key's rate are woken in pages when the key rate changes
// (docs/internals.md, "Rate limits"; rate-held.lua): no call names more than its page of
// members, however many jobs one key holds back, and the pages name every one once. Against
// the real Redis of tests/preload.ts.
import { expect, test } from "bun:test";
import { limitKeys } from "../lib/engine/keys.ts";
import { type HeldPlace, takeRateHeld, wakeRateHeld, wakeStart } from "../lib/engine/rate-held.ts";
import { engineQueue } from "./fixtures/plant.ts";

/** Far off (Redis' ms): held jobs due then are named (one past its due time is back already). */
const LATER = 9_000_000_000_000;

/** Key `key` listed as held, holding `n` jobs of shard 0 (one member each), a schedule set. */
async function held(
  r: { sendCommand: (a: string[]) => Promise<unknown> },
  lk: ReturnType<typeof limitKeys>,
  key: string,
  n: number,
) {
  await r.sendCommand(["ZADD", lk.keys, "1", key]);
  const members = Array.from({ length: n }, (_, i) => [String(LATER + i), `0|${key}-${i}`]).flat();
  for (let at = 0; at < members.length; at += 2_000) {
    await r.sendCommand(["ZADD", lk.rateHeld(key), ...members.slice(at, at + 2_000)]);
  }
  await r.sendCommand(["HSET", `${lk.keyPrefix}${key}`, "hold_next", "1"]);
}

test("a key holding more jobs than a page is read a page per call, every job named once", async () => {
  await using v = await engineQueue();
  const lk = limitKeys(v.k.meta.slice(0, v.k.meta.indexOf(":{")), "q");
  await held(v.r, lk, "a", 25);
  await held(v.r, lk, "b", 3);
  const named: string[] = [];
  let calls = 0;
  for (let at: HeldPlace | null = wakeStart(); at; calls++) {
    const page = await takeRateHeld(v.client, lk, at, 200, 10);
    expect(page.members.length).toBeLessThanOrEqual(10);
    named.push(...page.members);
    at = page.next;
  }
  expect(calls).toBe(3);
  const all = [...Array(25).keys()].map((i) => `0|a-${i}`);
  all.push("0|b-0", "0|b-1", "0|b-2");
  expect(named.sort()).toEqual(all.sort());
  for (const key of ["a", "b"]) {
    expect(await v.r.sendCommand(["EXISTS", lk.rateHeld(key)])).toBe(0);
    expect(await v.r.sendCommand(["EXISTS", lk.rateWaking(key)])).toBe(0);
    expect(await v.r.sendCommand(["HEXISTS", `${lk.keyPrefix}${key}`, "hold_next"])).toBe(0);
  }
});

test("a rate change wakes a key's whole backlog of held jobs, page after page", async () => {
  await using v = await engineQueue();
  const lk = limitKeys(v.k.meta.slice(0, v.k.meta.indexOf(":{")), "q");
  await held(v.r, lk, "a", 2_500);
  // The jobs are not in the delayed set (planted members only): none moves, all are named.
  expect((await wakeRateHeld(v.client, lk, [v.k])).moved).toBe(0);
  expect(await v.r.sendCommand(["EXISTS", lk.rateHeld("a")])).toBe(0);
});
