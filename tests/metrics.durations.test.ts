// The run-time histogram read from `stats:durations`: only Courier's buckets (its bounds, `inf`)
// are buckets and counted; a stray field (`junk 2`, written by hand) is passed over. Counted, it
// made `_count` differ from the `+Inf` bucket: an invalid Prometheus histogram.
import { expect, test } from "bun:test";
import { renderMetrics } from "../lib/admin/metrics.ts";
import { readDurations } from "../lib/admin/run-times.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { oneShardFile, openQueue, testPrefix } from "./helpers.ts";

oneShardFile(); // the durations key written is a one-shard queue's

test("a stray field in stats:durations is no bucket and not counted", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const key = queueKeys(prefix, "default").durations;
  await q.client.sendCommand(["HSET", key, "100", "3", "inf", "1", "sum_ms", "250"]);
  await q.client.sendCommand(["HSET", key, "junk", "2", "7", "5", "count", "9"]);
  const d = await readDurations(q.client, queueKeys(prefix, "default"));
  expect({ count: d.count, sumMs: d.sumMs, buckets: [...d.buckets] }).toEqual({
    count: 4,
    sumMs: 250,
    buckets: [
      [100, 3],
      [Number.POSITIVE_INFINITY, 1],
    ],
  });
  const text = renderMetrics([{ counts: null, liveWorkers: null, durations: d, queue: "default" }]);
  expect(text).toContain('courier_job_duration_seconds_bucket{queue="default",le="+Inf"} 4');
  expect(text).toContain('courier_job_duration_seconds_count{queue="default"} 4');
});

// Read whole (HGETALL), a stray field of 10 MB (or a million) was read on every scrape.
test("a stray field of 10 MB in stats:durations is not read: the buckets and sum only", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const keys = queueKeys(prefix, "default");
  await q.client.sendCommand(["HSET", keys.durations, "100", "3", "inf", "1", "sum_ms", "250"]);
  await q.client.sendCommand(["HSET", keys.durations, "junk", "x".repeat(10_000_000)]);
  let bytes = 0;
  const client = {
    sendCommand: async (args: readonly string[]) => {
      const reply = await q.client.sendCommand<unknown[]>(args);
      bytes += JSON.stringify(reply).length;
      return reply;
    },
  } as unknown as typeof q.client;
  const d = await readDurations(client, keys);
  expect(bytes).toBeLessThan(1_000);
  expect({ count: d.count, sumMs: d.sumMs, buckets: [...d.buckets] }).toEqual({
    count: 4,
    sumMs: 250,
    buckets: [
      [100, 3],
      [Number.POSITIVE_INFINITY, 1],
    ],
  });
});
