// `info --queue Q` of a queue with no key yet asks whether Q has a schedule (it is then shown,
// one member asked of the prefix's `queues` set, never the whole set, which holds a
// name per queue with a schedule: 300,000 of them took info from 62 to 102 MB of RSS. A spy
// counts the bytes of every reply on the connection.
import { expect, test } from "bun:test";
import { hasSchedules } from "../lib/admin/info-schedules.ts";
import { scheduleKeys } from "../lib/engine/keys.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { spy } from "./fixtures/reply-bytes.ts";
import { rawRedis, runCli, testPrefix } from "./helpers.ts";

const QUEUES = 20_000;

test("whether a queue has schedules: its one member asked, not the set of every queue's", async () => {
  const prefix = testPrefix();
  const k = scheduleKeys(prefix);
  await using r = await rawRedis();
  const names = Array.from({ length: QUEUES }, (_, i) => `queue-${String(i).padStart(6, "0")}`);
  for (let i = 0; i < names.length; i += 5_000) {
    await r.sendCommand(["SADD", k.queues, ...names.slice(i, i + 5_000)]);
  }
  const seen = spy(r);
  const client = r as unknown as Redis;
  expect(await hasSchedules(client, prefix, "queue-000123")).toBe(true);
  expect(await hasSchedules(client, prefix, "queue-x")).toBe(false);
  expect(seen.total).toBeLessThan(1_000);
  // A set of another type (another program's key) has none: as before, no refusal.
  await r.sendCommand(["DEL", k.queues]);
  await r.sendCommand(["SET", k.queues, "x"]);
  expect(await hasSchedules(client, prefix, "queue-000123")).toBe(false);
});

test("info --queue of a queue known by its schedule only: shown; of none: exit 4", async () => {
  const prefix = testPrefix();
  const add = ["add", "ping", "--every", "1h", "--task", "t", "--queue", "ops", "--prefix", prefix];
  expect((await runCli("schedule", add)).code).toBe(0);
  const shown = await runCli("info", ["--prefix", prefix, "--queue", "ops"]);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toContain("  schedules  1 (schedule.ts list)");
  const none = await runCli("info", ["--prefix", prefix, "--queue", "opz"]);
  expect({ code: none.code, stderr: none.stderr }).toEqual({
    code: 4,
    stderr: `info: no queue opz under prefix ${prefix}\n`,
  });
});
