import { expect, test } from "bun:test";
import { backoffMs } from "../lib/backoff.ts";

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
