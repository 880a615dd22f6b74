import { describe, expect, test } from "bun:test";
import { backoffMs, retryDelayMs } from "../lib/worker/retry-policy.ts";

const o = { backoffBaseMs: 1_000, backoffMaxMs: 10_000 };

test.each([
  // attempt, random, expected: base · 2^(attempt−1), capped, times 0.75 + random/2
  [1, 0.5, 1_000],
  [2, 0.5, 2_000],
  [3, 0.5, 4_000],
  [4, 0.5, 8_000],
  [5, 0.5, 10_000], // capped
  [20, 0.5, 10_000], // still capped, no overflow
  [1, 0, 750], // lowest jitter
  [1, 0.999_999, 1_250], // highest jitter (rounded)
  [0, 0.5, 1_000], // attempt 0 treated as the first
])("attempt %i with random %d waits %i ms", (attempt, random, expected) => {
  expect(backoffMs(attempt, o, () => random)).toBe(expected);
});

describe("retryDelayMs: a task's own delay (Retry-After) is kept within bounds", () => {
  const w = { backoffBaseMs: 1_000, backoffMaxMs: 600_000 } as Parameters<typeof retryDelayMs>[2];
  test.each([
    [5_000, 5_000],
    [0, 0],
    [-5, 0],
    [99_999_999_999, 600_000],
    [Number.POSITIVE_INFINITY, 1_000], // not finite: the usual back-off (attempt 1, no jitter)
    [Number.NaN, 1_000],
    [undefined, 1_000],
  ])("asked %p gives %p ms", (asked, expected) => {
    const random = Math.random;
    Math.random = () => 0.5;
    try {
      expect(retryDelayMs(asked, 1, w)).toBe(expected);
    } finally {
      Math.random = random;
    }
  });
});
