// `--older-than` durations: a pure parser, tested with a table.
import { describe, expect, test } from "bun:test";
import { formatDuration, parseDuration } from "../lib/admin/duration.ts";
import { InputError } from "../lib/errors.ts";
import { runCli } from "./helpers.ts";

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

  test.each([["5m5m"], ["30s1m"], ["1h1h30m"], ["500ms1s"], ["1d2w"]])(
    "%p is refused: each unit once, largest first",
    (text) => {
      expect(() => parseDuration(text)).toThrow(
        new InputError(
          `"${text}" is not a duration: give each unit once, largest first (1h30m, not 30m1h or 5m5m)`,
        ),
      );
    },
  );

  test("trigger --delay 5m5m: exit 2, one line", async () => {
    const r = await runCli("trigger", ["--task", "t", "--delay", "5m5m"]);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toContain('"5m5m" is not a duration: give each unit once');
  });
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
