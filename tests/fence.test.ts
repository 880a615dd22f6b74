// A run's fence (lib/fence/fence.ts): its definition, and its order over the runs one job can
// have (docs/internals.md, "Fenced runs"), with tables and no Redis.
import { describe, expect, test } from "bun:test";
import { compareFences, FENCE_MAX_DIGITS, fenceOf, isFence } from "../lib/fence/fence.ts";

const U64_MAX = "18446744073709551615";
const pad = (n: string | number) => String(n).padStart(20, "0");

describe("fenceOf", () => {
  const cases: [string, string, number | bigint, string][] = [
    ["a fresh read of an entry of 2026", "1764423456789-0", 1, `1764423456789${pad(0)}${pad(1)}`],
    ["a claim: the delivery count", "1764423456789-3", 2, `1764423456789${pad(3)}${pad(2)}`],
    ["seq at its limit", `1-${U64_MAX}`, 1, `1${U64_MAX}${pad(1)}`],
    ["count at its limit", "1-0", 2n ** 64n - 1n, `1${pad(0)}${U64_MAX}`],
    ["the largest", `${U64_MAX}-${U64_MAX}`, 2n ** 64n - 1n, U64_MAX.repeat(3)],
    ["entry 0-0 (runTask's): the count alone", "0-0", 3, "3"],
    ["entry 0-5: no leading zeros", "0-5", 1, `5${pad(1)}`],
  ];
  for (const [name, entry, d, fence] of cases) {
    test(name, () => {
      expect(fenceOf(entry, d)).toBe(fence);
      expect(isFence(fenceOf(entry, d))).toBe(true);
    });
  }

  test("is the number ms × 10^40 + seq × 10^20 + deliveries", () => {
    for (const [ms, seq, d] of [
      [1764423456789n, 0n, 1n],
      [1n, 2n ** 64n - 1n, 7n],
      [2n ** 64n - 1n, 2n ** 64n - 1n, 2n ** 64n - 1n],
      [0n, 0n, 1n],
    ] as const) {
      expect(BigInt(fenceOf(`${ms}-${seq}`, d))).toBe(ms * 10n ** 40n + seq * 10n ** 20n + d);
    }
    expect(fenceOf(`${U64_MAX}-${U64_MAX}`, 2n ** 64n - 1n)).toHaveLength(FENCE_MAX_DIGITS);
  });
});

describe("the runs of one job, in the order they happen, have growing fences", () => {
  // Each row: what happened, then the entry and delivery count of the run it started.
  const histories: [string, [string, string, number][]][] = [
    [
      "claims after lapsed leases, then a retry, a release and a requeue",
      [
        ["a fresh read", "1764423456789-0", 1],
        ["a claim (its worker stalled)", "1764423456789-0", 2],
        ["another claim", "1764423456789-0", 3],
        ["a rerun on a full Redis (RETRYCOUNT one up)", "1764423456789-0", 4],
        ["a retry through the delayed set: a new entry, count 1", "1764423457800-0", 1],
        ["a release at shutdown: a new entry", "1764423457900-2", 1],
        ["a requeue from the dead letters", "1764423999000-0", 1],
      ],
    ],
    [
      "a new entry in the same ms, seq one up, after many claims",
      [
        ["claimed 10^15 times", "1000-5", 1e15],
        ["re-added in the same ms", "1000-6", 1],
      ],
    ],
    [
      "seq at its limit: the next id is the next ms",
      [
        ["seq 2^64 − 1", `1000-${U64_MAX}`, 2],
        ["the next id Redis gives", "1001-0", 1],
      ],
    ],
    [
      "a longer ms (more digits) after a shorter one",
      [
        ["ms of 13 digits", "9999999999999-99", 99],
        ["ms of 14 digits", "10000000000000-0", 1],
      ],
    ],
    [
      "a high job requeued to the normal stream (requeue.lua asks for an id after its last)",
      [
        ["stream:high, an entry from a clock ahead", "4102444800000-7", 1],
        ["the normal stream, the id just after", "4102444800000-8", 1],
      ],
    ],
  ];
  for (const [name, runs] of histories) {
    test(name, () => {
      const fences = runs.map(([, entry, d]) => fenceOf(entry, d));
      for (let i = 1; i < fences.length; i++) {
        expect([runs[i]![0], compareFences(fences[i]!, fences[i - 1]!)]).toEqual([runs[i]![0], 1]);
        expect([runs[i]![0], compareFences(fences[i - 1]!, fences[i]!)]).toEqual([runs[i]![0], -1]);
        // The same order as the numbers they are.
        expect(BigInt(fences[i]!) > BigInt(fences[i - 1]!)).toBe(true);
      }
    });
  }
});

describe("compareFences", () => {
  const cases: [string, string, number][] = [
    ["9", "10", -1], // text alone would say 9 > 10
    ["10", "9", 1],
    ["42", "42", 0],
    ["0", "1", -1],
    // Past 2^53 Number() says equal; the fences differ in the last digit.
    [fenceOf("1764423456789-0", 1), fenceOf("1764423456789-0", 2), -1],
    [U64_MAX.repeat(3), `${U64_MAX.repeat(3).slice(0, -1)}4`, 1],
  ];
  for (const [a, b, want] of cases) {
    test(`${a.slice(0, 24)}${a.length > 24 ? "…" : ""} vs ${b.slice(-6)}`, () => {
      expect(compareFences(a, b)).toBe(want);
      expect(compareFences(b, a)).toBe(-want || 0);
    });
  }

  const bad: unknown[] = ["", "01", "-1", "1.5", " 1", "1e3", "x", "1".repeat(61), 12, null];
  for (const value of bad) {
    test(`refuses ${JSON.stringify(value)} (not a fence)`, () => {
      expect(isFence(value)).toBe(false);
      expect(() => compareFences(value as string, "1")).toThrow(TypeError);
      expect(() => compareFences("1", value as string)).toThrow(/^not a fence: /);
    });
  }
});
