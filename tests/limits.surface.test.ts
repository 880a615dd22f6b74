// The rate limits as an operator sees them, against real Redis: `info` (its LIMITS lines and
// --json), /metrics and the dashboard (/api/limits, the live snapshot) show the settings and
// the held keys with their next slot, read from what the limiter wrote (Admin.holdKey, the
// same script a 429's hold runs); a queue without limits shows none of it.
import { afterEach, describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { parseRate } from "../lib/engine/rates.ts";
import { firstSnapshot } from "./fixtures/dashboard.ts";
import { openQueue, redisUrl, runCli, testPrefix, until as waitUntil } from "./helpers.ts";

const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

/** A queue `crawl` with limits and one held key, and a plain queue `plain` beside it. */
async function heldQueue(prefix: string): Promise<{ admin: Admin; until: number }> {
  await using q = await openQueue({ prefix, queue: "crawl" });
  await using plain = await openQueue({ prefix, queue: "plain" });
  await q.enqueue("t", null);
  await plain.enqueue("t", null);
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "crawl" });
  await admin.setLimits({ rate: parseRate("500/s"), keyConcurrency: 2 });
  const until = await admin.holdKey("slow.example:8080", 600_000);
  // A hold already over is no held key: only the one still to come is shown.
  const over = await admin.holdKey("past.example", 0);
  await waitUntil(async () => (await admin.redisNow()) > over, "the short hold's end");
  return { admin, until };
}

describe("held keys and settings", () => {
  test("Admin.limitsView: settings, the held key, its next slot by Redis' clock", async () => {
    const { admin, until } = await heldQueue(testPrefix());
    try {
      const v = await admin.limitsView();
      expect(v).toMatchObject({
        rate: { count: 500, perMs: 1_000 },
        keyConcurrency: 2,
        keyRate: null,
        heldTotal: 1,
        held: [{ key: "slow.example:8080", nextMs: until, running: 0 }],
      });
      expect(until - v.nowMs).toBeGreaterThan(590_000);
      expect(until - v.nowMs).toBeLessThanOrEqual(600_000);
      const plain = await admin.forQueue("plain").limitsView();
      expect(plain).toEqual({
        nowMs: expect.any(Number),
        rate: null,
        keyConcurrency: null,
        keyRate: null,
        held: [],
        heldTotal: 0,
      });
    } finally {
      await admin.close();
    }
  });

  test("info: LIMITS lines for the limited queue only; --json has them", async () => {
    const prefix = testPrefix();
    const { admin } = await heldQueue(prefix);
    await admin.close();
    const text = await runCli("info", ["--prefix", prefix]);
    expect(text.code).toBe(0);
    const [, crawl, plain] = text.stdout.split(/\n\n(?=queue )/);
    expect(crawl).toContain("  limits     queue 500/s   per key 2 running\n  held keys  1\n");
    expect(crawl).toMatch(
      / {4}KEY {16}NEXT SLOT {2}RUNNING\n {4}slow\.example:8080 {2}in 9m\d+s {3}0/,
    );
    expect(plain).not.toContain("limits");
    const json = await runCli("info", ["--prefix", prefix, "--queue", "crawl", "--json"]);
    const limits = JSON.parse(json.stdout).queues[0].limits;
    expect(limits).toMatchObject({ keyConcurrency: 2, heldTotal: 1 });
    expect(limits.held[0].key).toBe("slow.example:8080");
  });

  test("/metrics and the dashboard show the held key", async () => {
    const prefix = testPrefix();
    const { admin, until } = await heldQueue(prefix);
    await admin.close();
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, queue: "crawl", port: 0 });
    running.push(d);
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toContain('courier_limit_held_keys{queue="crawl"} 1\n');
    expect(metrics).toContain('courier_limit_rate_per_second{queue="crawl"} 500\n');
    expect(metrics).toMatch(
      /courier_limit_held_seconds\{queue="crawl",key="slow\.example:8080"\} 59\d\.\d+\n/,
    );
    const api = await (await fetch(`${d.url}/api/limits`)).json();
    expect(api).toMatchObject({
      used: true,
      settings: "queue 500/s   per key 2 running",
      heldTotal: 1,
      held: [{ key: "slow.example:8080", nextSlot: new Date(until).toISOString(), running: 0 }],
    });
    expect(api.held[0].next).toMatch(/^in 9m\d+s$/);
    const { data } = await firstSnapshot(`${d.url}/api/events`);
    expect(data.limits.held[0].key).toBe("slow.example:8080");
    const plain = await (await fetch(`${d.url}/api/limits?queue=plain`)).json();
    expect(plain).toMatchObject({ used: false, heldTotal: 0, held: [] });
  });
});
