// The oldest waiting job of a queue with priority levels: only the normal stream was looked at,
// so a high or low job waiting for an hour read as none waiting long (`oldest waiting -`,
// courier_oldest_waiting_seconds 0), and an alert on it never fired.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { levelKeys } from "../lib/engine/keys.ts";
import { openQueue, rawRedis, redisTime, redisUrl, testPrefix } from "./helpers.ts";

test.each(["high", "low"] as const)(
  "a %s job waiting a minute: the oldest waiting job's age, in the overview and /metrics",
  async (level) => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue: "q" });
    await q.enqueue("t", null); // the queue exists; its normal job read at once, below
    await using r = await rawRedis();
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
    try {
      const [first] = await admin.shards();
      const k = levelKeys(first!, level);
      // An entry added a minute ago (its id's ms), as the enqueue of then would have.
      const at = (await redisTime(r)) - 60_000;
      await r.sendCommand([
        ...["XADD", k.stream, `${at}-0`, "t", "t", "p", "null", "a", "0", "m", "1", "i", "j1"],
      ]);
      const { counts } = await admin.overview();
      expect(counts.byPriority?.[level]).toEqual({ waiting: 1, inFlight: 0, delayed: 0 });
      expect(counts.oldestWaitingMs).toBeGreaterThanOrEqual(60_000);
      expect(counts.oldestWaitingMs).toBeLessThan(120_000);
      const line = (await admin.metrics())
        .split("\n")
        .find((l) => l.startsWith('courier_oldest_waiting_seconds{queue="q"} '));
      expect(Number(line?.split(" ")[1])).toBeGreaterThanOrEqual(60);
    } finally {
      await admin.close();
    }
  },
);
