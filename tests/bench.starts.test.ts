// The limits bench's arithmetic on task starts (bench/workloads/_starts.ts), with tables.
import { describe, expect, test } from "bun:test";
import { mostInWindow, sustainedRate } from "../bench/workloads/_starts.ts";

const every = (ms: number, n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => from + i * ms);

describe("sustainedRate", () => {
  test.each([
    ["evenly 2 ms apart", every(2, 1_000), 500],
    ["the same, shuffled", [...every(2, 1_000)].reverse(), 500],
    // A burst of 100 at once first and 100 stragglers a second late: outside the middle 80 %.
    [
      "a first burst and late stragglers",
      [...every(0, 100), ...every(2, 800, 0), ...every(10, 100, 2_600)],
      500,
    ],
  ])("%s", (_, starts, rate) => {
    expect(sustainedRate(starts)).toBeCloseTo(rate, 6);
  });
});

describe("mostInWindow", () => {
  test.each([
    ["2 ms apart, 1 s windows", every(2, 1_000), 1_000, 500],
    ["a window is half-open: starts 100 ms apart, 100 ms windows", every(100, 10), 100, 1],
    ["a burst", [...every(0, 7), ...every(50, 3, 500)], 100, 7],
  ])("%s", (_, starts, interval, most) => {
    expect(mostInWindow(starts, interval)).toBe(most);
  });
});
