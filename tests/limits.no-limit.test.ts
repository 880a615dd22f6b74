// A task of no time limit (`timeoutMs: Infinity`, docs/internals.md "Rate limits") under a key
// concurrency: its running slot is held as long as the longest time limit (INTERVAL_LIMIT_MS),
// then frees itself as any dead worker's does. Asked with an endless slot, limit.lua raised
// after its first writes (PEXPIRE of inf): the job never started, asking again each second for
// ever, and its key's running slot stayed taken with no expiry, every other job of the key
// waiting behind it. Against the real Redis of tests/preload.ts.
import { describe, expect, test } from "bun:test";
import { INTERVAL_LIMIT_MS } from "../lib/config.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { defineTask } from "../lib/types.ts";
import { LIMIT_HORIZON_MS } from "../lib/worker/limited.ts";
import {
  openQueue,
  pinShards,
  rawRedis,
  redisTime,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

describe("a task of no time limit", () => {
  // One shard: A is read before B (over several shards B may be read first and end before A
  // starts, which holds the slot as well but not in the order this test looks at).
  pinShards(1);
  test("a task of no time limit runs under a key concurrency, its slot held a bounded time", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue: "q" });
    await using r = await rawRedis();
    await writeLimits(q.client, prefix, "q", { keyConcurrency: 1 });
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const started: string[] = [];
    const endless = defineTask({
      name: "endless",
      timeoutMs: Number.POSITIVE_INFINITY,
      limitKey: () => "h",
      run: async (p: { n: string }) => {
        started.push(p.n);
        if (p.n === "A") await gate;
        return p.n;
      },
    });
    const ids = [await q.enqueue(endless, { n: "A" }), await q.enqueue(endless, { n: "B" })];
    const worker = await startWorker({ prefix, queue: "q", tasks: [endless], concurrency: 2 });
    try {
      await until(() => started.includes("A"), "A started", 5_000);
      const lk = limitKeys(prefix, "q");
      const [, score] = (await r.sendCommand([
        "ZRANGE",
        lk.running("h"),
        "0",
        "0",
        "WITHSCORES",
      ])) as [string, string];
      const most = INTERVAL_LIMIT_MS + LIMIT_HORIZON_MS + 5_000;
      expect(Number(score) - (await redisTime(r))).toBeLessThanOrEqual(most);
      expect(Number(await r.sendCommand(["PTTL", lk.running("h")]))).toBeGreaterThan(0);
      // B waits for A's slot, and runs once A ends.
      expect(started).toEqual(["A"]);
      open();
      const done = await q.waitForJobs(ids, { timeoutMs: 10_000 });
      expect(done.pending).toEqual([]);
      expect(started).toEqual(["A", "B"]);
    } finally {
      open();
      await worker.stop(1000);
    }
  });
});
