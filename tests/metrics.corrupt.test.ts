// A counter or histogram field that holds no whole number (written by hand, or corrupt: `abc`,
// `1e400`, `-5`): `info` shows `?` for the trimmed-letters count, never NaN, Infinity or a
// negative count, and `/metrics` leaves the sample out, so its text stays valid and no NaN
// reads as a counter reset.
import { describe, expect, test } from "bun:test";
import { renderMetrics } from "../lib/admin/metrics.ts";
import type { Durations } from "../lib/admin/run-times.ts";
import { type QueueCounts, readCounts } from "../lib/admin/stats.ts";
import { quietCounts } from "./fixtures/counts.ts";
import { openQueue, rawRedis, redisTime, runCli, testPrefix } from "./helpers.ts";

function counts(totals: Partial<QueueCounts["totals"]>): QueueCounts {
  return quietCounts("q1", totals, 1);
}
const noDurations: Durations = { buckets: new Map(), sumMs: 0, count: 0 };

describe("/metrics with corrupt counters", () => {
  test.each([["abc"], ["1e400"], ["-5"], ["1.5"]])(
    "a counter holding %p: its sample left out, the others kept",
    async (raw) => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix, queue: "q1" });
      await using r = await rawRedis();
      await r.sendCommand([
        "HSET",
        q.keys.stats,
        "claimed",
        raw,
        "dead_trimmed",
        raw,
        "started",
        "3",
      ]);
      const { counts } = await readCounts(q.client, q.keys, "q1", await redisTime(r));
      const text = renderMetrics([{ counts, liveWorkers: 0, durations: noDurations }]);
      expect(text).not.toMatch(/ (NaN|[+-]Inf|-5|1\.5)$/m);
      expect(text).not.toContain("courier_jobs_claimed_total{");
      expect(text).not.toContain("courier_jobs_dead_trimmed_total{");
      expect(text).toContain("# TYPE courier_jobs_claimed_total counter");
      expect(text).toContain('courier_jobs_started_total{queue="q1"} 3');
    },
  );

  test("a histogram field that is no whole number: that queue's histogram left out", () => {
    const durations: Durations = {
      buckets: new Map([
        [5, 2],
        [1_000, Number.NaN],
      ]),
      sumMs: 10,
      count: Number.NaN,
    };
    const good: Durations = { buckets: new Map([[5, 1]]), sumMs: 3, count: 1 };
    const text = renderMetrics([
      { counts: counts({}), liveWorkers: 0, durations },
      { counts: { ...counts({}), queue: "q2" }, liveWorkers: 0, durations: good },
    ]);
    expect(text).not.toContain("NaN");
    expect(text).not.toContain('courier_job_duration_seconds_count{queue="q1"}');
    expect(text).toContain('courier_job_duration_seconds_count{queue="q2"} 1');
  });
});

describe("info with a corrupt dead_trimmed counter", () => {
  test.each([["abc"], ["1e400"], ["-5"]])("%p shows ?", async (raw) => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue: "q1" });
    await using r = await rawRedis();
    await q.enqueue("t", 1); // the queue's stream, so info finds it
    await r.sendCommand(["HSET", q.keys.stats, "dead_trimmed", raw]);
    const info = await runCli("info", ["--prefix", prefix]);
    expect(info.code).toBe(0);
    expect(info.stdout).not.toMatch(/NaN|Infinity|-5/);
    expect(info.stdout).toMatch(/^ {2}trimmed {4}\? dead letters dropped/m);
  });
});
