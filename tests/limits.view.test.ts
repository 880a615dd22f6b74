// The rate limits as info, /metrics and the dashboard show them, pure (tables): settings in one
// phrase, held keys with their next slot, a queue without limits said nothing of.
import { describe, expect, test } from "bun:test";
import {
  formatLimits,
  type LimitsView,
  nextSlotText,
  usesLimits,
} from "../lib/admin/limits-view.ts";
import { renderMetrics } from "../lib/admin/metrics.ts";
import { table } from "../lib/cli/table.ts";
import { quietCounts as counts } from "./fixtures/counts.ts";

const none: LimitsView = {
  nowMs: 990_000,
  rate: null,
  keyConcurrency: null,
  keyRate: null,
  held: [],
  heldTotal: 0,
};
const limited: LimitsView = {
  nowMs: 990_000,
  rate: { count: 500, perMs: 1_000 },
  keyConcurrency: 2,
  keyRate: { count: 5, perMs: 60_000 },
  // Latest first, as readHeldKeys lists them: a Retry-After's hold, then a key that is only
  // waiting for its next slot by the rate (no per-key series in /metrics: they would churn).
  held: [
    { key: "slow.example", nextMs: 1_002_000, running: 0, retryAfter: true },
    { key: "bad\u001b[31m.example", nextMs: 990_000, running: 2, retryAfter: false },
  ],
  heldTotal: 3,
};

describe("nextSlotText", () => {
  test.each([
    [0, "now"],
    [-5, "now"],
    [250, "in 250ms"],
    [12_000, "in 12s"],
    [3_600_000, "in 1h"],
  ])("%d -> %s", (ms, expected) => {
    expect(nextSlotText(ms)).toBe(expected);
  });
});

describe("info's LIMITS lines", () => {
  test("a queue that uses no limit says nothing", () => {
    expect(usesLimits(none)).toBe(false);
    expect(formatLimits(none, table)).toEqual([]);
  });

  test("settings only", () => {
    const v = { ...none, keyConcurrency: 1 };
    expect(formatLimits(v, table)).toEqual([
      "  limits     queue no limit   per key 1 running",
      "  held keys  none",
    ]);
  });

  test("held keys in a table, latest first, keys escaped, how many not shown", () => {
    expect(formatLimits(limited, table)).toEqual([
      "  limits     queue 500/s   per key 2 running, 5/m",
      "  held keys  3 (the 2 latest shown)",
      "    KEY                  NEXT SLOT  RUNNING",
      "    slow.example         in 12s     0",
      "    bad\\x1b[31m.example  now        2",
    ]);
  });

  test("held keys alone (a Retry-After on a queue with no limit set) are said", () => {
    const v = { ...none, held: limited.held.slice(0, 1), heldTotal: 1 };
    expect(usesLimits(v)).toBe(true);
    expect(formatLimits(v, table)[1]).toBe("  held keys  1");
  });
});

describe("/metrics", () => {
  const durations = { buckets: new Map(), sumMs: 0, count: 0 };
  const text = renderMetrics([
    { counts: counts("crawl"), liveWorkers: 1, durations, limits: limited },
    { counts: counts("plain"), liveWorkers: 1, durations, limits: none },
  ]);
  const lines = text.split("\n");

  test.each([
    ['courier_limit_rate_per_second{queue="crawl"} 500'],
    ['courier_limit_key_rate_per_second{queue="crawl"} 0.08333333333333333'],
    ['courier_limit_key_concurrency{queue="crawl"} 2'],
    ['courier_limit_held_keys{queue="crawl"} 3'],
    ['courier_limit_held_keys{queue="plain"} 0'],
    ['courier_limit_held_seconds{queue="crawl",key="slow.example"} 12'],
    ['courier_limit_key_running{queue="crawl",key="slow.example"} 0'],
    ["# TYPE courier_limit_held_keys gauge"],
  ])("%s", (line) => {
    expect(lines).toContain(line);
  });

  test("per key, only the keys a Retry-After holds", () => {
    expect(text).not.toContain("bad");
  });

  test("a limit not set has no sample", () => {
    expect(text).not.toContain('courier_limit_rate_per_second{queue="plain"}');
    expect(text).not.toContain('courier_limit_key_concurrency{queue="plain"}');
  });

  test("each family's HELP and TYPE come once, before its samples", () => {
    const at = (s: string) => lines.findIndex((l) => l.startsWith(s));
    expect(lines.filter((l) => l === "# TYPE courier_limit_held_keys gauge")).toHaveLength(1);
    expect(at("# TYPE courier_limit_held_keys")).toBeLessThan(at("courier_limit_held_keys{"));
    expect(at("courier_limit_held_keys{")).toBeLessThan(at("# HELP courier_limit_held_seconds"));
  });
});
