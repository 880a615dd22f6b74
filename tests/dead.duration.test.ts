// `--older-than` durations: a pure parser, tested with a table.
import { describe, expect, test } from "bun:test";
import { formatDuration, parseDuration } from "../lib/admin/duration.ts";
import { InputError } from "../lib/errors.ts";

describe("parseDuration", () => {
  test.each([
    ["45s", 45_000],
    ["30m", 1_800_000],
    ["12h", 43_200_000],
    ["7d", 604_800_000],
    ["2w", 1_209_600_000],
    ["500ms", 500],
    ["1d12h", 129_600_000],
    ["1h30m15s", 5_415_000],
    ["1.5h", 5_400_000],
    [" 7D ", 604_800_000],
    ["0s", 0],
    ["0", 0],
    ["00", 0],
  ])("%p is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each([[""], ["7"], ["01"], ["d"], ["7 d"], ["-7d"], ["7y"], ["7d!"], ["1e3s"], ["s7"]])(
    "%p is refused with a message naming the forms",
    (text) => {
      expect(() => parseDuration(text)).toThrow(InputError);
      expect(() => parseDuration(text)).toThrow(/e\.g\. 45s, 30m, 12h, 7d/);
    },
  );
});

describe("formatDuration", () => {
  test.each([
    [0, "0s"],
    [999, "0s"],
    [45_000, "45s"],
    [90_061_000, "1d1h1m1s"],
    [604_800_000, "7d"],
    [-5, "0s"],
  ])("%d ms is %p", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
