// A task's `alive_until:<task>` in the tasks hash that no worker could have written (a hand edit:
// `inf`, a time centuries ahead): no worker's beat reaches past Redis' TIME + 6 heartbeats of at
// most INTERVAL_LIMIT_MS. Read as a live worker, it made every job of a task no worker has
// bounce through the delayed set once a second for ever (leave.lua deferred it, a log line each
// time) instead of parking; serve.lua never wrote a real beat over it; `info` and trigger's
// note said nothing. Now read as no live worker, and replaced by the next real beat.
import { expect, test } from "bun:test";
import { readUnservedTasks } from "../lib/admin/unserved.ts";
import { ALIVE_WINDOW_MOST_MS } from "../lib/config.ts";
import { leaveForOthers } from "../lib/engine/leave.ts";
import { serveTasks } from "../lib/engine/serve.ts";
import { deliver, engineQueue, plant, redisNow } from "./fixtures/plant.ts";

const FAR = ["inf", "+inf", "1e400", "9e99", "nan", String(Date.now() + 100 * 365 * 86_400_000)];

test.each(FAR)(
  "alive_until %p is no live worker: parked, listed unserved, replaced by a beat",
  async (far) => {
    await using v = await engineQueue();
    await v.r.sendCommand(["HSET", v.k.tasks, "alive_until:png", far]);
    const entry = await plant(v, { t: "png" });
    await deliver(v, "w1");
    const left = await leaveForOthers(
      v.client,
      v.k,
      "w1",
      [0, 1_000],
      [{ entry, id: null, task: "png" }],
    );
    expect(left).toEqual(["parked"]);
    const unserved = await readUnservedTasks(v.client, v.k, await redisNow(v));
    expect(unserved).toEqual({ shown: [{ task: "png", jobs: 1 }], total: 1, parked: 1 });
    // A worker with the task beats: its window replaces the value, and the job goes back.
    const before = await redisNow(v);
    expect((await serveTasks(v.client, v.k, ["png"], 30_000)).moved).toBe(1);
    const until = Number(await v.r.sendCommand(["HGET", v.k.tasks, "alive_until:png"]));
    expect(until).toBeGreaterThanOrEqual(before + 30_000);
    expect(until).toBeLessThan(before + 60_000);
  },
);

test("the bound is the longest window a worker sends: 6 heartbeats of INTERVAL_LIMIT_MS", async () => {
  // leave.lua and serve.lua hold the same number (include/alive.lua).
  const lua = await Bun.file(
    new URL("../lib/engine/lua/include/alive.lua", import.meta.url),
  ).text();
  expect(lua).toContain(`local ALIVE_WINDOW_MOST_MS = ${ALIVE_WINDOW_MOST_MS}\n`);
  // A beat at the bound still counts: a worker of the longest heartbeat is live.
  await using v = await engineQueue();
  const now = await redisNow(v);
  await v.r.sendCommand(["HSET", v.k.tasks, "alive_until:png", String(now + ALIVE_WINDOW_MOST_MS)]);
  const entry = await plant(v, { t: "png" });
  await deliver(v, "w1");
  const left = await leaveForOthers(
    v.client,
    v.k,
    "w1",
    [0, 1_000],
    [{ entry, id: null, task: "png" }],
  );
  expect(left).toEqual(["deferred"]);
});
