// `trigger --at TIME`: every time already past runs at once, as --help says, whatever its year
// (before 1970, which the library takes no time before; years 0-99, which Date.UTC reads as
// 1900-1999).
import { expect, test } from "bun:test";
import { parseAt, scheduleOf } from "../lib/cli/trigger-job.ts";
import { runCli, testPrefix } from "./helpers.ts";

// biome-ignore format: a table
const times: [string, number][] = [
  ["0001-01-01T00:00Z", Date.parse("0001-01-01T00:00:00.000Z")],
  ["0099-12-31T23:59:59.5Z", Date.parse("0099-12-31T23:59:59.500Z")],
  ["0000-03-01T00:00+01:00", Date.parse("0000-02-29T23:00:00.000Z")],
  ["1969-12-31T23:59Z", -60_000],
  ["2026-12-01T10:00+01:00", Date.parse("2026-12-01T09:00:00.000Z")],
];

test.each(times)("parseAt(%p) is that instant", (text, ms) => {
  expect(parseAt(text)).toBe(ms);
});

test("years below 100 are checked as given: 29 February of year 1 is no date", () => {
  expect(() => parseAt("0001-02-29T00:00Z")).toThrow("is not a time");
  expect(parseAt("0004-02-29T00:00Z")).toBe(Date.parse("0004-02-29T00:00:00.000Z"));
});

test("a time before 1970 is the epoch: past, so due at once", () => {
  expect(scheduleOf(undefined, "1969-12-31T23:59Z")).toEqual({ runAt: 0 });
  expect(scheduleOf(undefined, "0001-01-01T00:00Z")).toEqual({ runAt: 0 });
  expect(scheduleOf(undefined, "2020-01-01T00:00Z")).toEqual({ runAt: Date.parse("2020-01-01") });
});

test("trigger --at before 1970, or in year 1: enqueued (exit 0), due at once", async () => {
  const prefix = testPrefix();
  for (const at of ["1969-12-31T23:59Z", "0001-01-01T00:00Z"]) {
    const r = await runCli("trigger", ["--prefix", prefix, "--task", "x", "--at", at, "--json"]);
    expect({ at, code: r.code, stderr: r.stderr }).toEqual({ at, code: 0, stderr: "" });
    const { id } = JSON.parse(r.stdout);
    const shown = await runCli("result", ["--prefix", prefix, id, "--json"]);
    const job = JSON.parse(shown.stdout);
    // Due at the epoch: queued once promoted, scheduled at 1970 until then.
    expect(job.status === "queued" || job.runAt === "1970-01-01T00:00:00.000Z").toBe(true);
  }
});
