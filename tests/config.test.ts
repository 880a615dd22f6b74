import { describe, expect, test } from "bun:test";
import { defaults } from "../lib/config.ts";
import { ConfigError } from "../lib/errors.ts";
import { resolveOptions } from "../lib/options.ts";

describe("resolveOptions", () => {
  test("fills in every default", () => {
    const o = resolveOptions({});
    expect(o.queue).toBe("default");
    expect(o.concurrency).toBe(16);
    expect(o.maxAttempts).toBe(3);
    expect(o.claimIdleMs).toBe(defaults.claimIdleMs);
  });

  test("undefined values do not override defaults", () => {
    expect(resolveOptions({ concurrency: undefined }).concurrency).toBe(16);
  });

  test.each([
    [{ claimIdleMs: 1_000 }, 500],
    [{ claimIdleMs: 60_000 }, 5_000],
    [{ claimIdleMs: 1_000, reclaimEveryMs: 50 }, 50],
  ])("reclaimEveryMs for %j is %i", (given, expected) => {
    expect(resolveOptions(given).reclaimEveryMs).toBe(expected);
  });

  test.each([
    [{ queue: "" }, "queue name"],
    [{ queue: "a b" }, "queue name"],
    [{ queue: "x{y}" }, "queue name"],
    [{ prefix: "p re" }, "key prefix"],
    [{ concurrency: 0 }, "concurrency must be a whole number from 1"],
    [{ concurrency: 1.5 }, "concurrency"],
    [{ maxAttempts: 0 }, "maxAttempts"],
    [{ blockMs: -1 }, "blockMs"],
    [{ claimIdleMs: 10 }, "claimIdleMs"],
    [{ prefetch: -1 }, "prefetch must be a whole number from 0 to 100"],
    [{ prefetch: 101 }, "prefetch must be a whole number from 0 to 100"],
    [{ prefetch: 0.5 }, "prefetch"],
    [{ prefetchWaitMs: 0 }, "prefetchWaitMs must be a whole number from 1"],
  ])("refuses %j", (given, message) => {
    expect(() => resolveOptions(given)).toThrow(ConfigError);
    expect(() => resolveOptions(given)).toThrow(message);
  });
});
