// Which held keys info, /metrics and the dashboard list (HELD_SHOWN at most): the latest next
// slot first, so a host a 429 held for a minute is not hidden behind busy keys whose next slot
// by the rate is milliseconds away; only the Retry-After holds become per-key metric series.
import { afterEach, describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { HELD_SHOWN } from "../lib/admin/limits-view.ts";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { openQueue, rawRedis, redisUrl, testPrefix } from "./helpers.ts";

const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

describe("held keys listed", () => {
  test("a Retry-After's hold comes first among busy keys; only it has per-key series", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue: "crawl" });
    await q.enqueue("t", null);
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "crawl" });
    await using r = await rawRedis();
    try {
      await admin.holdKey("slow.example", 60_000);
      // More busy keys than are shown, each waiting for its next slot by the rate (as limit.lua
      // lists them: score = next slot, a second away at most).
      const [s] = (await r.sendCommand(["TIME"])) as [string];
      const soon = (i: number) => String(Number(s) * 1_000 + 5_000 + i);
      const busy = Array.from({ length: HELD_SHOWN + 5 }, (_, i) => [soon(i), `busy${i}.example`]);
      await r.sendCommand(["ZADD", limitKeys(prefix, "crawl").keys, ...busy.flat()]);
      const v = await admin.limitsView();
      expect(v.heldTotal).toBe(HELD_SHOWN + 6);
      expect(v.held).toHaveLength(HELD_SHOWN);
      expect(v.held[0]).toMatchObject({ key: "slow.example", retryAfter: true });
      expect(v.held.slice(1).every((h) => !h.retryAfter)).toBe(true);
      const d = await startDashboard({ redisUrl: redisUrl(), prefix, queue: "crawl", port: 0 });
      running.push(d);
      const metrics = await (await fetch(`${d.url}/metrics`)).text();
      const perKey = metrics
        .split("\n")
        .filter((l) => /^courier_limit_(held_seconds|key_running)\{/.test(l));
      expect(perKey.map((l) => /key="([^"]*)"/.exec(l)?.[1])).toEqual([
        "slow.example",
        "slow.example",
      ]);
    } finally {
      await admin.close();
    }
  }, 30_000);
});
