// Tick computation (lib/schedule/ticks.ts) and schedule specs (lib/schedule/spec.ts), pure:
// every, cron, time zones across DST, and the missed-tick policies with an injected clock.
import { describe, expect, test } from "bun:test";
import {
  checkSpec,
  parseDef,
  SCHEDULE_PAYLOAD_MAX_BYTES,
  type ScheduleDef,
} from "../lib/schedule/spec.ts";
import { LATE_MS, latestTick, planTick, tickAfter } from "../lib/schedule/ticks.ts";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const at = (iso: string) => Date.parse(iso);

function every(ms: number, missed: "once" | "skip" = "once"): ScheduleDef {
  return {
    queue: "q",
    every_ms: ms,
    task: "t",
    payload: null,
    missed,
    paused: false,
    created_at: T0 + 123,
  };
}
function cron(expr: string, tz?: string, missed: "once" | "skip" = "once"): ScheduleDef {
  const d: ScheduleDef = {
    queue: "q",
    cron: expr,
    task: "t",
    payload: null,
    missed,
    paused: false,
    created_at: T0,
  };
  if (tz) d.tz = tz;
  return d;
}

describe("tickAfter", () => {
  test.each([
    ["before the anchor: the first tick", T0, T0 + 123 + 5_000],
    ["at the anchor: one interval on", T0 + 123, T0 + 123 + 5_000],
    ["between ticks", T0 + 123 + 7_000, T0 + 123 + 10_000],
    ["exactly on a tick: the next one", T0 + 123 + 10_000, T0 + 123 + 15_000],
  ])("every 5s from its anchor, %s", (_, after, want) => {
    expect(tickAfter(every(5_000), after)).toBe(want);
  });

  test.each([
    ["*/5 * * * *", undefined, "2026-01-01T00:03:00Z", "2026-01-01T00:05:00.000Z"],
    ["*/5 * * * *", undefined, "2026-01-01T00:05:00Z", "2026-01-01T00:10:00.000Z"],
    ["0 9 * * 1", undefined, "2026-01-01T00:00:00Z", "2026-01-05T09:00:00.000Z"],
    ["* * * * * *", undefined, "2026-01-01T00:00:00.500Z", "2026-01-01T00:00:01.000Z"],
    // 09:00 in Paris is 08:00 UTC in winter, 07:00 UTC in summer.
    ["0 9 * * *", "Europe/Paris", "2026-01-10T12:00:00Z", "2026-01-11T08:00:00.000Z"],
    ["0 9 * * *", "Europe/Paris", "2026-07-10T12:00:00Z", "2026-07-11T07:00:00.000Z"],
    // 2026-03-29, Paris springs forward at 02:00 → 03:00: 02:30 does not exist that day and
    // runs at 03:00 local (01:00 UTC), once; the day after at 02:30 local (00:30 UTC).
    ["30 2 * * *", "Europe/Paris", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00.000Z"],
    ["30 2 * * *", "Europe/Paris", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00.000Z"],
    // 2026-10-25, Paris falls back at 03:00 → 02:00: 02:30 happens twice; it runs once.
    ["30 2 * * *", "Europe/Paris", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00.000Z"],
    ["30 2 * * *", "Europe/Paris", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00.000Z"],
    // A list or range of times is fixed times too (Vixie cron's rule): 02:00 and 02:30 of the
    // spring day both run at 03:00, once (they were skipped); each runs once in the fall.
    ["0,30 2 * * *", "Europe/Paris", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00.000Z"],
    ["0,30 2 * * *", "Europe/Paris", "2026-03-29T01:00:00Z", "2026-03-30T00:00:00.000Z"],
    ["0,30 2 * * *", "Europe/Paris", "2026-10-25T00:30:00Z", "2026-10-26T01:00:00.000Z"],
    ["0 2,3 * * *", "Europe/Paris", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00.000Z"],
    ["30 1-3 * * *", "Europe/Paris", "2026-03-29T00:30:00Z", "2026-03-29T01:00:00.000Z"],
    ["30 1-3 * * *", "Europe/Paris", "2026-10-25T00:30:00Z", "2026-10-25T02:30:00.000Z"],
    // A wildcard or step is an interval: it runs through the repeated hour, both times.
    ["*/20 2 * * *", "Europe/Paris", "2026-10-25T00:40:00Z", "2026-10-25T01:00:00.000Z"],
    ["0 * * * *", "Europe/Paris", "2026-10-25T00:00:00Z", "2026-10-25T01:00:00.000Z"],
    // New York, the same rule a month apart from Europe.
    ["0 12 * * *", "America/New_York", "2026-03-07T18:00:00Z", "2026-03-08T16:00:00.000Z"],
  ])("cron %s in %s after %s: %s", (expr, tz, after, want) => {
    expect(new Date(tickAfter(cron(expr, tz), at(after))!).toISOString()).toBe(want);
  });

  test("a cron without a zone is read in UTC, whatever the host's zone", () => {
    const zone = process.env.TZ;
    process.env.TZ = "America/New_York"; // this process's own zone, for the test
    try {
      expect(tickAfter(cron("0 9 * * *"), at("2026-07-10T12:00:00Z"))).toBe(
        at("2026-07-11T09:00:00Z"),
      );
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  test("a cron that never comes again ends (null)", () => {
    expect(tickAfter(cron("0 0 0 1 1 * 2026"), at("2026-06-01T00:00:00Z"))).toBeNull();
  });
});

describe("latestTick", () => {
  test("every: the last tick at or before now, never before the stored one", () => {
    const d = every(1_000);
    expect(latestTick(d, T0 + 1_123, T0 + 60_500)).toBe(T0 + 60_123);
    expect(latestTick(d, T0 + 1_123, T0 + 60_123)).toBe(T0 + 60_123);
  });
  test("cron: the last tick at or before now", () => {
    const d = cron("*/5 * * * *");
    expect(latestTick(d, at("2026-01-01T00:05:00Z"), at("2026-01-01T03:07:00Z"))).toBe(
      at("2026-01-01T03:05:00Z"),
    );
    expect(latestTick(d, at("2026-01-01T00:05:00Z"), at("2026-01-01T03:10:00Z"))).toBe(
      at("2026-01-01T03:10:00Z"),
    );
  });
});

describe("planTick (the clock injected)", () => {
  const d = every(60_000);
  const due = T0 + 123 + 60_000;
  test.each([
    ["not due yet: nothing", due - 1, { fire: null, next: due }],
    ["due now: fire it", due, { fire: due, next: due + 60_000 }],
    ["late within LATE_MS: fire it, on time", due + LATE_MS, { fire: due, next: due + 60_000 }],
  ])("%s", (_, now, want) => {
    expect(planTick(d, due, now)).toEqual(want);
    expect(planTick({ ...d, missed: "skip" }, due, now)).toEqual(want);
  });

  test("late ticks within LATE_MS each fire, in order (the next may be due at once)", () => {
    const s = every(1_000);
    const first = T0 + 1_123;
    const now = first + 3_500;
    const p1 = planTick(s, first, now);
    expect(p1).toEqual({ fire: first, next: first + 1_000 });
    expect(planTick(s, p1.next!, now)).toEqual({ fire: first + 1_000, next: first + 2_000 });
  });

  test("missed (older than LATE_MS), once: one job for the latest missed tick, then the future", () => {
    const now = due + 10 * 60_000 + 30_000; // ten ticks missed, the latest 30 s ago
    expect(planTick(d, due, now)).toEqual({ fire: due + 600_000, next: due + 660_000 });
  });

  // After an outage, ticks within LATE_MS each get their job, in order, whatever came before
  // them (and stand for the missed ones under `once`): an every-2s schedule unfired for 13.8 s
  // gave a job to the tick 1.8 s late only, and none to the one 3.8 s late. Passes run
  // back to back at `now`, as a scheduler's do.
  test.each([
    ["once", [10_000, 12_000]],
    ["skip", [10_000, 12_000]],
  ] as const)("an outage, %s: the ticks fired, by how late they are", (missed, fired) => {
    const s = { ...every(2_000), missed };
    const first = s.created_at + 2_000;
    const now = first + 13_800;
    const got: number[] = [];
    let next: number | null = first;
    for (let pass = 0; next !== null && next <= now && pass < 20; pass++) {
      const plan = planTick(s, next, now);
      if (plan.fire !== null) got.push(plan.fire - first);
      next = plan.next;
    }
    expect(got).toEqual([...fired]);
    expect(next).toBe(first + 14_000);
  });

  test("missed, skip: no job; the next future tick waits", () => {
    const now = due + 10 * 60_000 + 30_000;
    expect(planTick({ ...d, missed: "skip" }, due, now)).toEqual({
      fire: null,
      next: due + 660_000,
    });
  });

  test("missed, skip: the latest tick is fired when it is itself on time", () => {
    const now = due + 10 * 60_000 + 1_000;
    expect(planTick({ ...d, missed: "skip" }, due, now)).toEqual({
      fire: due + 600_000,
      next: due + 660_000,
    });
  });

  test("a cron's missed ticks: once fires the latest, in its zone", () => {
    const c = cron("0 9 * * *", "Europe/Paris");
    const stored = at("2026-01-05T08:00:00Z");
    const now = at("2026-01-09T10:00:00Z");
    expect(planTick(c, stored, now)).toEqual({
      fire: at("2026-01-09T08:00:00Z"),
      next: at("2026-01-10T08:00:00Z"),
    });
    expect(planTick({ ...c, missed: "skip" }, stored, now)).toEqual({
      fire: null,
      next: at("2026-01-10T08:00:00Z"),
    });
  });
});

describe("checkSpec", () => {
  const base = { name: "n", task: "t" };
  test.each([
    [{ ...base }, "one of every"],
    [{ ...base, every: "5m", cron: "* * * * *" }, "one of every"],
    [{ ...base, every: "500ms" }, "from 1s"],
    [{ ...base, every: "1.5s" }, "every must be whole seconds"],
    [{ ...base, every: 1_500 }, "every must be whole seconds"],
    [{ ...base, cron: "0 0 0 1 1 * 2030" }, "it has 7 fields, not 5"],
    [{ ...base, every: "soon" }, "is not a duration"],
    [{ ...base, every: "5m", tz: "Europe/Paris" }, "tz goes with cron"],
    [{ ...base, cron: "* * *" }, "is not a cron expression"],
    [{ ...base, cron: `0 0 * * ${"1,".repeat(600)}2` }, "characters, over 1000"],
    [{ ...base, cron: "61 * * * *" }, "is not a cron expression"],
    [{ ...base, cron: "* * * * *", tz: "Mars/Olympus" }, "is not a time zone"],
    [{ ...base, cron: "0 0 30 2 *" }, "never runs"],
    [{ ...base, name: "a b", every: "5m" }, "schedule name"],
    [{ ...base, name: "x".repeat(65), every: "5m" }, "schedule name"],
    [{ ...base, every: "5m", queue: "a#b" }, "no queue name"],
    [{ ...base, every: "5m", missed: "twice" as "once" }, "missed must be"],
    [{ ...base, every: "5m", task: "two words" }, "task name"],
  ])("%j is refused: %s", (spec, message) => {
    expect(() => checkSpec(spec, "default")).toThrow(message);
  });

  test("a payload of up to 1 MiB of JSON is taken, one byte more refused", () => {
    const payload = "x".repeat(SCHEDULE_PAYLOAD_MAX_BYTES - 2); // and its two quotes
    expect(checkSpec({ ...base, every: "5m", payload }, "d").payload).toBe(payload);
    // Counted in bytes: é is two.
    const over = { ...base, every: "5m", payload: `${"é".repeat(512 * 1024 - 1)}x` };
    expect(() => checkSpec(over, "d")).toThrow(
      "a schedule's payload is 1048577 bytes of JSON, over 1048576 (1 MiB)",
    );
  });

  test("a good spec: the queue defaulted, missed once, payload null", () => {
    expect(checkSpec({ ...base, every: "5m" }, "default")).toEqual({
      queue: "default",
      every_ms: 300_000,
      task: "t",
      payload: null,
      missed: "once",
      paused: false,
    });
    expect(
      checkSpec({ ...base, cron: "0 9 * * 1-5", tz: "Asia/Tokyo", queue: "q" }, "d"),
    ).toMatchObject({
      queue: "q",
      cron: "0 9 * * 1-5",
      tz: "Asia/Tokyo",
    });
  });

  test("parseDef: what Courier wrote reads back; anything else is null", () => {
    const good = { ...every(1_000) };
    expect(parseDef(JSON.stringify(good))).toEqual(good);
    for (const bad of [
      null,
      "",
      "{",
      "[]",
      "1",
      JSON.stringify({ ...good, queue: 3 }),
      JSON.stringify({ ...good, missed: "x" }),
      JSON.stringify({ ...good, cron: "* * * * *" }),
    ]) {
      expect(parseDef(bad)).toBeNull();
    }
  });
});
