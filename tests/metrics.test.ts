// Prometheus text rendering and the per-minute window, pure (tables); the histogram bounds
// the finish script counts with; and the per-minute hash trimmed by the scripts themselves.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { DURATION_BOUNDS_MS, escapeLabel, renderMetrics } from "../lib/admin/metrics.ts";
import type { Durations } from "../lib/admin/run-times.ts";
import { COUNTERS, type QueueCounts } from "../lib/admin/stats.ts";
import { bucketsFrom, minuteFields, minuteSeries, windowCount } from "../lib/admin/window.ts";
import { MINUTES_KEPT } from "../lib/engine/keys.ts";
import { defineTask } from "../lib/types.ts";
import { openQueue, ROOT, rawRedis, redisTime, startWorker, testPrefix } from "./helpers.ts";

function counts(queue: string): QueueCounts {
  const recent = { lastMinute: 0, lastHour: 0 };
  return {
    queue,
    waiting: 7,
    inFlight: 2,
    delayed: 1,
    dead: 3,
    oldestWaitingMs: 1_500,
    finished: recent,
    failed: recent,
    retried: recent,
    throughputPerS: 0,
    totals: Object.fromEntries(COUNTERS.map((c, i) => [c, i + 1])) as QueueCounts["totals"],
    unservedTasks: [],
    unservedTasksTotal: 0,
    parked: 4,
  };
}

describe("renderMetrics", () => {
  const durations: Durations = {
    buckets: new Map([
      [5, 2],
      [1_000, 1],
      [Number.POSITIVE_INFINITY, 1],
    ]),
    sumMs: 120_750,
    count: 4,
  };
  const text = renderMetrics([{ counts: counts("default"), liveWorkers: 2, durations }]);
  const lines = text.split("\n");

  test.each([
    ['courier_jobs_enqueued_total{queue="default"} 1'],
    ['courier_jobs_started_total{queue="default"} 2'],
    ['courier_jobs_finished_total{queue="default"} 3'],
    ['courier_jobs_failed_total{queue="default"} 4'],
    ['courier_jobs_retried_total{queue="default"} 5'],
    ['courier_jobs_dead_total{queue="default"} 6'],
    ['courier_jobs_claimed_total{queue="default"} 7'],
    ['courier_jobs_waiting{queue="default"} 7'],
    ['courier_jobs_in_flight{queue="default"} 2'],
    ['courier_jobs_delayed{queue="default"} 1'],
    ['courier_jobs_dead{queue="default"} 3'],
    ['courier_jobs_parked{queue="default"} 4'],
    ['courier_oldest_waiting_seconds{queue="default"} 1.5'],
    ['courier_workers_live{queue="default"} 2'],
    ['courier_job_duration_seconds_bucket{queue="default",le="0.005"} 2'],
    ['courier_job_duration_seconds_bucket{queue="default",le="0.5"} 2'],
    ['courier_job_duration_seconds_bucket{queue="default",le="1"} 3'],
    ['courier_job_duration_seconds_bucket{queue="default",le="60"} 3'],
    ['courier_job_duration_seconds_bucket{queue="default",le="+Inf"} 4'],
    ['courier_job_duration_seconds_sum{queue="default"} 120.75'],
    ['courier_job_duration_seconds_count{queue="default"} 4'],
    ["# TYPE courier_jobs_enqueued_total counter"],
    ["# TYPE courier_jobs_waiting gauge"],
    ["# TYPE courier_job_duration_seconds histogram"],
  ])("has %s", (line) => {
    expect(lines).toContain(line);
  });

  test("every sample line is `name{labels} number`, each family typed once, text ends in a newline", () => {
    expect(text.endsWith("\n")).toBe(true);
    const samples = lines.filter((l) => l !== "" && !l.startsWith("#"));
    for (const l of samples) expect(l).toMatch(/^courier_[a-z_]+\{[^}]*\} (-?[\d.]+|\+Inf|NaN)$/);
    const types = lines.filter((l) => l.startsWith("# TYPE")).map((l) => l.split(" ")[2]);
    expect(new Set(types).size).toBe(types.length);
  });

  test.each([
    ["plain", "plain"],
    ['a"b', 'a\\"b'],
    ["a\\b", "a\\\\b"],
    ["a\nb", "a\\nb"],
    // A control character as the text \x1b: its backslash escaped, as any other.
    ["a\u001b]0;x\u0007b", "a\\\\x1b]0;x\\\\x07b"],
    ["a\rb\u009b", "a\\\\x0db\\\\x9b"],
    // Bidi controls and what shows nothing or breaks a line unseen (a limit key may hold them).
    ["k\u202eey\u2028x\u200by\u{e0041}é", "k\\\\u202eey\\\\u2028x\\\\u200by\\\\u{e0041}é"],
  ])("label value %p is written %p", (value, written) => {
    expect(escapeLabel(value)).toBe(written);
  });

  test("the finish script counts with the same bounds", async () => {
    const lua = await Bun.file(join(ROOT, "lib/engine/lua/finish.lua")).text();
    const list = /local BOUNDS = \{([^}]*)\}/.exec(lua)?.[1] ?? "";
    expect(list.split(",").map((b) => Number(b.trim()))).toEqual([...DURATION_BOUNDS_MS]);
  });

  test("the finish script's bucket names are its bounds written out", async () => {
    const lua = await Bun.file(join(ROOT, "lib/engine/lua/finish.lua")).text();
    const list = /local BUCKETS = \{([^}]*)\}/.exec(lua)?.[1] ?? "";
    expect(list.split(",").map((b) => b.trim())).toEqual(DURATION_BOUNDS_MS.map((b) => `'${b}'`));
  });
});

describe("per-minute window", () => {
  const minute = 30_000_000; // an epoch minute
  const at = (m: number, s: number) => (minute + m) * 60_000 + s * 1_000;
  const buckets = new Map([
    [`${minute - 61}:finished`, 1000], // outside every window
    [`${minute - 60}:finished`, 60],
    [`${minute - 1}:finished`, 10],
    [`${minute}:finished`, 4],
    [`${minute}:failed`, 2],
  ]);

  test.each([
    // [now, minutes, expected]: the minute before the window counts for the part still in it.
    [at(0, 0), 1, 14], // 0 s into the minute: the previous minute counts whole
    [at(0, 30), 1, 9], // 4 + 10 * 0.5
    [at(0, 59), 1, 4], // 4 + 10 / 60, rounded
    [at(0, 30), 60, 44], // 4 + 10 + 60 * 0.5
    [at(1, 0), 1, 4], // a minute on: this minute is empty, the last one counts whole
  ])("at %d, the last %d minute(s) hold %d finished", (now, minutes, expected) => {
    expect(windowCount(buckets, "finished", now, minutes)).toBe(expected);
  });

  test("the series has one point per minute, oldest first, ending with the current one", () => {
    const series = minuteSeries(buckets, at(0, 10), 3);
    expect(series).toEqual([
      { at: (minute - 2) * 60_000, finished: 0, failed: 0, retried: 0 },
      { at: (minute - 1) * 60_000, finished: 10, failed: 0, retried: 0 },
      { at: minute * 60_000, finished: 4, failed: 2, retried: 0 },
    ]);
  });

  // A minute's count written by hand (or corrupt): read as such, `info` said "Infinity jobs in
  // the last minute" and its JSON null where a number goes.
  test.each(["1e400", "2.5", "-3", "abc", "99999999999999999999", "0x10"])(
    "a minute's count of %p is no count: left out of every window",
    (bad) => {
      const fields = minuteFields(at(0, 10), 1);
      const values = fields.map((f) =>
        f === `${minute}:finished` ? bad : f.endsWith(":failed") ? "2" : null,
      );
      const read = bucketsFrom(fields, values);
      expect(windowCount(read, "finished", at(0, 10), 1)).toBe(0);
      expect(windowCount(read, "failed", at(0, 10), 1)).toBe(4); // 2 + 2 * 50/60, rounded
    },
  );

  test("the fields read cover the window and the minute before it", () => {
    const fields = minuteFields(at(0, 10), 60);
    expect(fields).toHaveLength(61 * 3);
    expect(fields[0]).toBe(`${minute - 60}:finished`);
    expect(fields.at(-1)).toBe(`${minute}:retried`);
  });

  test("the finish script deletes counts older than MINUTES_KEPT when a new minute starts", async () => {
    const prefix = testPrefix();
    // One shard (on a cluster, one slot): the test plants and reads that shard's minutes.
    await using q = await openQueue({ prefix, shards: 1 });
    await using r = await rawRedis();
    // Minutes of Redis' clock, which the scripts count by: `m` is the one the run landed in.
    const redisMinute = async () => Math.floor((await redisTime(r)) / 60_000);
    const m0 = await redisMinute();
    await r.sendCommand([
      "HSET",
      q.keys.minutes,
      "trimmed",
      String(m0 - 5),
      `${m0 - 5 - MINUTES_KEPT}:finished`, // below the last trim: not looked at again
      "1",
      `${m0 - MINUTES_KEPT}:finished`, // falls out now
      "2",
      `${m0 - MINUTES_KEPT + 1}:failed`, // still kept (unless the run lands in the next minute)
      "3",
    ]);
    const ok = defineTask({ name: "ok", run: async () => 1 });
    const w = await startWorker({ prefix, tasks: [ok], shards: 1 });
    const run = async () => {
      const id = await q.enqueue("ok", null);
      await q.waitForJobs([id], { timeoutMs: 5_000 });
    };
    const fields = async () => {
      const flat: string[] = await r.sendCommand(["HGETALL", q.keys.minutes]);
      return Object.fromEntries(flat.flatMap((f, i) => (i % 2 === 0 ? [[f, flat[i + 1]]] : [])));
    };
    await run();
    const m = Number((await fields()).trimmed);
    expect(m).toBeGreaterThanOrEqual(m0);
    expect(m).toBeLessThanOrEqual(await redisMinute());
    const kept = m === m0 ? { [`${m0 - MINUTES_KEPT + 1}:failed`]: "3" } : {};
    expect(await fields()).toEqual({
      trimmed: String(m),
      [`${m0 - 5 - MINUTES_KEPT}:finished`]: "1",
      ...kept,
      [`${m}:finished`]: "1",
    });
    // A long quiet spell: the last trim is more than MINUTES_KEPT ago, everything there too old.
    await r.sendCommand(["HSET", q.keys.minutes, "trimmed", String(m - MINUTES_KEPT - 10)]);
    await run();
    await w.stop();
    const last = Number((await fields()).trimmed);
    expect(last).toBeGreaterThanOrEqual(m);
    expect(await fields()).toEqual({ trimmed: String(last), [`${last}:finished`]: "1" });
  });
});
