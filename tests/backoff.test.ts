// Retry policy and the one exponential delay: pure, tested with tables.
import { describe, expect, test } from "bun:test";
import { exponentialMs } from "../lib/time.ts";
import { backoffMs, retryDelayMs, retryInMs } from "../lib/worker/retry-policy.ts";

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

test.each([
  // base, n, cap, expected: base · 2^n, capped; n below 0 counts as 0
  [100, 0, 5_000, 100],
  [100, 3, 5_000, 800],
  [100, 6, 5_000, 5_000],
  [100, 1_100, 5_000, 5_000], // 2^1100 is Infinity: still the cap
  [50, -1, 5_000, 50],
  [100, 2, 0, 0],
])("exponentialMs(%i, %i, %i) is %i", (base, n, cap, expected) => {
  expect(exponentialMs(base, n, cap)).toBe(expected);
});

describe("retryInMs: the last-attempt rule", () => {
  const o = { backoffBaseMs: 1_000, backoffMaxMs: 60_000, random: () => 0.5 };
  test.each([
    // attempt, max, permanent, retryAfterMs, expected (ms from Redis' clock; null: for good)
    [1, 3, false, undefined, 1_000], // back-off
    [2, 3, false, undefined, 2_000],
    [3, 3, false, undefined, null], // the last attempt: failed for good
    [4, 3, false, undefined, null], // past it (a requeue lowered nothing; still the end)
    [1, 3, true, undefined, null], // PermanentError: no retry with attempts left
    [1, 3, false, 250, 250], // the task's own delay
    [1, 3, false, 0, 0], // ...of none: due at once, still a retry
    [3, 3, false, 250, null], // ...but not past the last attempt
  ])(
    "attempt %i of %i, permanent %p, asked %p: %p",
    (attempt, maxAttempts, permanent, asked, expected) => {
      const f = { attempt, maxAttempts, permanent, retryAfterMs: asked };
      expect(retryInMs(f, o)).toBe(expected);
    },
  );
});
