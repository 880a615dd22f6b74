// Number options take plain decimal digits: `1e3`, `0x10`, ` 12` or `1.0` are refused, as
// `--concurrency 1e9` always was, instead of being read as 1000 or 16.
import { describe, expect, test } from "bun:test";
import { intArg, waitSeconds } from "../bin/_cli.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import { runCli, testPrefix } from "./helpers.ts";

describe("intArg", () => {
  test.each([
    ["0", 0],
    ["16", 16],
    ["007", 7],
    ["65535", 65_535],
  ])("%j is %d", (text, n) => {
    expect(intArg(text, "port", 0, 65_535)).toBe(n);
  });

  test.each([
    ["1e3"],
    ["0x10"],
    ["0b1"],
    ["0o7"],
    [" 12"],
    ["12 "],
    ["1.0"],
    ["+5"],
    ["-0"],
    ["65536"],
  ])("%j is refused", (text) => {
    expect(() => intArg(text, "port", 0, 65_535)).toThrow(
      `--port must be a whole number from 0 to 65535, got "${text}"`,
    );
  });

  test("unset is undefined", () => {
    expect(intArg(undefined, "port", 0, 1)).toBeUndefined();
    expect(intArg("", "port", 0, 1)).toBeUndefined();
  });
});

describe("waitSeconds", () => {
  test.each([
    ["5", 5],
    ["1.5", 1.5],
    [".5", 0.5],
    ["1.", 1],
    ["forever", Number.POSITIVE_INFINITY],
  ])("%j is %d", (text, n) => {
    expect(waitSeconds(text)).toBe(n);
  });

  test.each([["1e3"], ["0x10"], ["-1"], ["Infinity"], ["."], ["1.2.3"]])(
    "%j is refused",
    (text) => {
      expect(() => waitSeconds(text)).toThrow(`--wait takes a number of seconds, got "${text}"`);
    },
  );
});

describe("the commands refuse them, exit 2", () => {
  test.each([
    ["worker", ["--job-timeout-ms", "1e3"], /--job-timeout-ms must be a whole number/],
    ["worker", ["--shutdown-grace-ms", "0x10"], /--shutdown-grace-ms must be a whole number/],
    ["worker", ["--prefetch", "101"], /--prefetch must be a whole number from 0 to 100, got "101"/],
    ["worker", ["--prefetch-wait-ms", "0"], /--prefetch-wait-ms must be a whole number from 1/],
    ["trigger", ["--file", "-", "--skip", "1e1"], /--skip must be a whole number/],
  ])("%s %j", async (cli, args, message) => {
    // trigger's (it reads standard input) through a real process; the worker's in this one
    // (runUsage: the same runCli, refused before Redis).
    const argv = ["--prefix", testPrefix(), ...args];
    const r =
      cli === "trigger" ? await runCli(cli, argv, { stdin: "" }) : await runUsage(cli, argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test("dashboard with COURIER_DASHBOARD_PORT=0x10: the line names the variable, as stack's does", async () => {
    const env = { COURIER_DASHBOARD_PORT: "0x10", COURIER_DASHBOARD_MAX_LIVE: "1e3" };
    const r = await runUsage("dashboard", ["--prefix", testPrefix()], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith(
      'dashboard: COURIER_DASHBOARD_PORT must be a whole number from 0 to 65535, got "0x10"\n',
    );
    const flag = await runUsage("dashboard", ["--prefix", testPrefix(), "--port", "0x10"], { env });
    expect(flag.stderr).toStartWith(
      'dashboard: --port must be a whole number from 0 to 65535, got "0x10"\n',
    );
    const live = await runUsage("dashboard", ["--prefix", testPrefix(), "--port", "0"], { env });
    expect(live.stderr).toStartWith(
      'dashboard: COURIER_DASHBOARD_MAX_LIVE must be a whole number from 1 to 100000, got "1e3"\n',
    );
  });
});
