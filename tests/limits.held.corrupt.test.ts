// A key rate change's wake (rate-held.lua, wakeRateHeld: docs/internals.md, "Rate limits") and
// bad records: a limit key whose hash holds another type is left as it is and said, its held
// jobs and every other key's still named; a held member that names no shard of the queue is
// dropped and said, never woken somewhere it is not. The queue-wide keys are refused before any
// write. Against the real Redis of tests/preload.ts.
import { describe, expect, test } from "bun:test";
import { type LimitKeys, limitKeys, limitWokenPrefix } from "../lib/engine/keys.ts";
import {
  type HeldPlace,
  heldWakeProblems,
  takeRateHeld,
  wakeRateHeld,
  wakeStart,
} from "../lib/engine/rate-held.ts";
import { type EngineQueue, engineQueue } from "./fixtures/plant.ts";
import { runCli } from "./helpers.ts";

/** Far off (Redis' ms): held jobs due then are named (one past its due time is back already). */
const LATER = 9_000_000_000_000;
const LK = (v: EngineQueue) => limitKeys(v.k.meta.slice(0, v.k.meta.indexOf(":{")), "q");

/** Key `key` listed as held, holding `members` (`<shard>|<job id>`), a schedule set. */
async function held(v: EngineQueue, lk: LimitKeys, key: string, members: string[]) {
  await v.r.sendCommand(["ZADD", lk.keys, "1", key]);
  await v.r.sendCommand(["HSET", lk.key(key), "hold_next", "1"]);
  await v.r.sendCommand(["ZADD", lk.rateHeld(key), ...members.flatMap((m) => [String(LATER), m])]);
}

describe("a limit key whose hash holds another type", () => {
  test("left as it is and said; its held jobs and the other keys' are all named", async () => {
    await using v = await engineQueue();
    const lk = LK(v);
    await held(v, lk, "a", ["0|a1"]);
    await held(v, lk, "bad", ["0|b1", "0|b2"]);
    await held(v, lk, "c", ["0|c1"]);
    await v.r.sendCommand(["SET", lk.key("bad"), "not ours"]);
    const named: string[] = [];
    const unreadable: string[] = [];
    for (let at: HeldPlace | null = wakeStart(); at; ) {
      const page = await takeRateHeld(v.client, lk, at, 200, 1000);
      named.push(...page.members);
      unreadable.push(...page.unreadable);
      at = page.next;
    }
    expect(named.sort()).toEqual(["0|a1", "0|b1", "0|b2", "0|c1"]);
    expect(unreadable).toEqual([`${lk.key("bad")} holds a string, not a hash`]);
    expect(await v.r.sendCommand(["GET", lk.key("bad")])).toBe("not ours");
    for (const key of ["a", "c"]) {
      expect(await v.r.sendCommand(["HMGET", lk.key(key), "woke", "hold_next"])).toEqual([
        "1",
        null,
      ]);
    }
  });

  test("wakeRateHeld says it, and wakes the jobs all the same", async () => {
    await using v = await engineQueue();
    const lk = LK(v);
    await held(v, lk, "bad", ["0|b1"]);
    await v.r.sendCommand(["SET", lk.key("bad"), "not ours"]);
    expect(await wakeRateHeld(v.client, lk, [v.k])).toEqual({
      moved: 0,
      dropped: [],
      unreadable: [`${lk.key("bad")} holds a string, not a hash`],
    });
    // Not in the delayed set (a planted member): marked, as any job woken early is.
    expect(await v.r.sendCommand(["EXISTS", `${limitWokenPrefix(v.k)}b1`])).toBe(1);
  });
});

describe("a queue-wide key of the wrong type", () => {
  for (const name of ["keys", "layout"] as const) {
    test(`${name} a string: refused naming it, before any write`, async () => {
      await using v = await engineQueue();
      const lk = LK(v);
      await held(v, lk, "a", ["0|a1"]);
      await v.r.sendCommand(["DEL", lk[name]]);
      await v.r.sendCommand(["SET", lk[name], "not ours"]);
      const names = [lk.keys, lk.layout, lk.rateHeld("a"), lk.rateWaking("a"), lk.key("a")];
      const before = await Promise.all(names.map((n) => v.r.sendCommand(["DUMP", n])));
      const call = takeRateHeld(v.client, lk, wakeStart(), 200, 1000);
      await expect(call).rejects.toThrow(`courier: key ${lk[name]} holds a string, not a`);
      const after = await Promise.all(names.map((n) => v.r.sendCommand(["DUMP", n])));
      expect(after).toEqual(before);
    });
  }
});

describe("a held member that names no shard of the queue", () => {
  test("dropped and said, never woken on a shard it does not name; the others woken", async () => {
    await using v = await engineQueue();
    const lk = LK(v);
    // One shard (0): 7 is out of range; the others are not shard numbers at all (Number()
    // would read `0x0` and ` 0` as 0).
    const bad = ["x|J", "7|K", "0x0|M", " 0|N", "1.0|P", "|Q", "R"];
    await held(v, lk, "a", ["0|L", ...bad]);
    const got = await wakeRateHeld(v.client, lk, [v.k]);
    expect(got.moved).toBe(0);
    expect(got.dropped.sort()).toEqual([...bad].sort());
    expect(got.unreadable).toEqual([]);
    // Said in one line, the first five named (in the set's order), however many there are.
    expect(heldWakeProblems(got)).toEqual([
      'rate-held members naming no shard of the queue, dropped: " 0|N", "0x0|M", "1.0|P", "7|K", "R" and 2 more (their jobs, if any, come back at their due time)',
    ]);
    const marker = (id: string) => v.r.sendCommand(["EXISTS", `${limitWokenPrefix(v.k)}${id}`]);
    expect(await marker("L")).toBe(1); // the one good member: woken (marked, not delayed here)
    for (const id of ["J", "K", "M", "N", "P", "Q", "R"]) expect(await marker(id)).toBe(0);
    // Gone from Redis, not read again by the next wake.
    expect(await v.r.sendCommand(["EXISTS", lk.rateHeld("a")])).toBe(0);
    expect(await v.r.sendCommand(["EXISTS", lk.rateWaking("a")])).toBe(0);
    expect((await wakeRateHeld(v.client, lk, [v.k])).dropped).toEqual([]);
  });
});

test("`queue limit` says what the wake settled, one line each on stderr, and succeeds", async () => {
  await using v = await engineQueue();
  const lk = LK(v);
  const prefix = v.k.meta.slice(0, v.k.meta.indexOf(":{"));
  await held(v, lk, "bad", ["x|J"]);
  await v.r.sendCommand(["SET", lk.key("bad"), "not ours"]);
  const out = await runCli("queue", ["limit", "q", "--key-rate", "off", "--prefix", prefix]);
  expect(out.code).toBe(0);
  expect(out.stderr.trim().split("\n")).toEqual([
    `queue limit: limit key unreadable: ${lk.key("bad")} holds a string, not a hash (its held jobs woken; workers hold them until it is deleted)`,
    'queue limit: rate-held members naming no shard of the queue, dropped: "x|J" (their jobs, if any, come back at their due time)',
  ]);
});
