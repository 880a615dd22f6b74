import { describe, expect, test } from "bun:test";
import { GROUP, queueKeys } from "../lib/engine/keys.ts";

describe("queueKeys", () => {
  const k = queueKeys("courier", "default");
  test.each([
    ["stream", k.stream, "courier:{default}:stream"],
    ["delayed", k.delayed, "courier:{default}:delayed"],
    ["dead", k.dead, "courier:{default}:dead"],
    ["events", k.events, "courier:{default}:events"],
    ["workers", k.workers, "courier:{default}:workers"],
    ["worker", k.worker("w1"), "courier:{default}:worker:w1"],
    ["stats", k.stats, "courier:{default}:stats"],
    ["result", k.result("abc"), "courier:{default}:r:abc"],
    ["record", k.record("abc"), "courier:{default}:job:abc"],
    ["recordPrefix", k.recordPrefix, "courier:{default}:job:"],
    ["receipt", k.receipt("b1"), "courier:{default}:receipt:b1"],
    ["meta", k.meta, "courier:{default}:meta"],
  ])("%s is %p", (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });

  test("every key of a queue carries the same hash tag (one Redis Cluster slot)", () => {
    const q = queueKeys("app", "emails");
    const all = [
      q.stream,
      q.delayed,
      q.dead,
      q.events,
      q.workers,
      q.worker("w"),
      q.stats,
      q.result("x"),
      q.record("x"),
      q.receipt("b"),
      q.meta,
    ];
    for (const key of all) expect(key).toMatch(/^app:\{emails\}:/);
  });

  test("the consumer group is named workers", () => {
    expect(GROUP).toBe("workers");
  });
});
