// One limiter key of another type (written by hand, or another program's) is settled alone:
// a held key whose running set is a string shows its count as unreadable, a held-keys set that
// is a string shows the limits as unreadable; info still reports the queue (exit 0), /metrics
// and the dashboard's limits (the live snapshot's) still answer.
import { afterEach, describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { type LimitKeys, limitKeys } from "../lib/engine/keys.ts";
import { parseRate } from "../lib/engine/rates.ts";
import { openQueue, type RawRedis, rawRedis, redisUrl, runCli, testPrefix } from "./helpers.ts";

const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

/** A queue with limits and a held key, then `corrupt` breaks one of its limiter keys. */
async function brokenQueue(corrupt: (lk: LimitKeys, r: RawRedis) => Promise<unknown>) {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "crawl" });
  await q.enqueue("t", null);
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "crawl" });
  await admin.setLimits({ rate: parseRate("500/s"), keyConcurrency: 2 });
  await admin.holdKey("slow.example", 600_000);
  await admin.close();
  await using r = await rawRedis();
  await corrupt(limitKeys(prefix, "crawl"), r);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, queue: "crawl", port: 0 });
  running.push(d);
  return { prefix, d };
}

describe("a limiter key of another type", () => {
  test("a held key's running set: that count unreadable, the rest shown", async () => {
    const { prefix, d } = await brokenQueue((lk, r) =>
      r.sendCommand(["SET", lk.running("slow.example"), "garbage"]),
    );
    const info = await runCli("info", ["--prefix", prefix, "--queue", "crawl"]);
    expect(info.code).toBe(0);
    expect(info.stdout).toContain("queue 500/s   per key 2 running");
    expect(info.stdout).toMatch(/slow\.example +in \S+ +unreadable/);
    const metrics = await fetch(`${d.url}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toContain('courier_limit_held_keys{queue="crawl"} 1');
    expect(text).not.toContain("courier_limit_key_running{");
    const api = await fetch(`${d.url}/api/limits`);
    expect(api.status).toBe(200);
    const limits = await api.json();
    expect(limits.held).toMatchObject([{ key: "slow.example", running: null }]);
  }, 30_000);

  test("the held keys' set: the limits unreadable, the queue's numbers shown", async () => {
    const { prefix, d } = await brokenQueue(async (lk, r) => {
      await r.sendCommand(["DEL", lk.keys]);
      await r.sendCommand(["SET", lk.keys, "garbage"]);
    });
    const info = await runCli("info", ["--prefix", prefix, "--queue", "crawl"]);
    expect(info.code).toBe(0);
    // The key named, in the words every unreadable key gets (it was Redis' bare WRONGTYPE).
    const named = `limits unreadable (cannot be read: key ${limitKeys(prefix, "crawl").keys} holds a string where Courier keeps a zset;`;
    expect(info.stdout).toContain(`limits     ${named}`);
    expect(info.stdout).toContain("queue crawl");
    const metrics = await fetch(`${d.url}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toContain('courier_limits_unreadable{queue="crawl"} 1');
    expect(text).toContain('courier_queue_paused{queue="crawl"} 0');
    const api = await fetch(`${d.url}/api/limits`);
    expect(api.status).toBe(200);
    expect(await api.json()).toMatchObject({ used: true, held: [] });
    expect((await (await fetch(`${d.url}/api/limits`)).json()).settings).toStartWith(named);
  }, 30_000);
});
