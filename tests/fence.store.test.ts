// fencedSet (lib/fence/store.ts, fenced-set.lua) against real Redis: a key keeps the highest
// fence written to it, an equal one may write again, a lower one is refused; fences compare as
// the numbers they are, also where a double cannot tell them apart.
import { describe, expect, test } from "bun:test";
import { fenceOf } from "../lib/fence/fence.ts";
import { fencedSet } from "../lib/fence/store.ts";
import { rawRedis, testPrefix } from "./helpers.ts";

const run1 = fenceOf("1764423456789-0", 1);
const run2 = fenceOf("1764423456789-0", 2); // Number(run1) === Number(run2)

describe("fencedSet", () => {
  // Each row: fences written in order, what each call answers, the value left.
  const cases: [string, string[], boolean[]][] = [
    ["the first write, then the same run again", ["5", "5"], [true, true]],
    ["a later run, then the earlier one late", [run1, run2, run1], [true, true, false]],
    ["9 then 10 (a longer number is larger)", ["9", "10"], [true, true]],
    ["10 then 9", ["10", "9"], [true, false]],
    [
      "a retry's new entry after many claims of the old one",
      [fenceOf("1000-5", 1e15), fenceOf("1000-6", 1), fenceOf("1000-5", 1e15)],
      [true, true, false],
    ],
  ];
  for (const [name, fences, want] of cases) {
    test(name, async () => {
      await using r = await rawRedis();
      const key = `${testPrefix()}:store:{k}`;
      const got: boolean[] = [];
      for (const [i, f] of fences.entries()) got.push(await fencedSet(r, key, f, `v${i}`));
      expect(got).toEqual(want);
      const last = want.lastIndexOf(true);
      expect(await r.sendCommand(["HGETALL", key])).toEqual([
        "fence",
        fences[last]!,
        "value",
        `v${last}`,
      ]);
    });
  }

  test("a stored fence that is not a number is an error, and nothing is written", async () => {
    await using r = await rawRedis();
    const key = `${testPrefix()}:store:{k}`;
    await r.sendCommand(["HSET", key, "fence", "abc", "value", "theirs"]);
    await expect(fencedSet(r, key, "1", "mine")).rejects.toThrow(
      `ERR fenced-set: ${key} holds a fence that is not a number`,
    );
    expect(await r.sendCommand(["HGET", key, "value"])).toBe("theirs");
  });

  test("a stored fence longer than a fence can be (60 digits) is an error, and nothing is written", async () => {
    await using r = await rawRedis();
    const key = `${testPrefix()}:store:{k}`;
    const huge = `1${"0".repeat(60)}`; // 61 digits: would refuse every run for ever
    await r.sendCommand(["HSET", key, "fence", huge, "value", "theirs"]);
    await expect(fencedSet(r, key, fenceOf("1764423456789-0", 1), "mine")).rejects.toThrow(
      `ERR fenced-set: ${key} holds a fence longer than 60 digits`,
    );
    expect(await r.sendCommand(["HGETALL", key])).toEqual(["fence", huge, "value", "theirs"]);
  });

  test("a fence that is not one is a TypeError, before any call", async () => {
    let calls = 0;
    const client = { sendCommand: async () => calls++ };
    for (const bad of ["", "01", "1.5", "-3", "x".repeat(100)]) {
      await expect(fencedSet(client, "k", bad, "v")).rejects.toThrow(TypeError);
    }
    expect(calls).toBe(0);
  });
});
