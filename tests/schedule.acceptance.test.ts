// Issue 14's acceptance test for recurring schedules: a schedule every second, three workers
// (each firing it) and a standalone scheduler process (`schedule.ts run`) killed (SIGKILL, mid-
// pass as it happens) and started again for about 20 s, one worker stopped and replaced half-
// way: exactly one job per tick. Counted: the jobs created (the queue's counter), the runs of
// each tick's job (the task records them), and the ticks themselves (one a second, none missing
// from the first to the last: something was firing all along).
import { expect, test } from "bun:test";
import { scheduleJobId, shardKeys } from "../lib/engine/keys.ts";
import { openLayout } from "../lib/engine/layout.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { defineTask } from "../lib/types.ts";
import type { Worker } from "../lib/worker/worker.ts";
import { openQueue, redisTime, spawnCli, startWorker, testPrefix, until } from "./helpers.ts";

const RUN_MS = 20_000;

/** A queue made with its shards, a schedules handle, and a task that counts its runs by job id. */
async function ticking(queue: string) {
  const prefix = testPrefix();
  const q = await openQueue({ prefix, queue });
  await openLayout(q.client, prefix, queue, q.shards, true);
  const runs = new Map<string, number>();
  const task = defineTask({
    name: "tick",
    run: async (_payload: unknown, ctx) => {
      runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
      return "ok";
    },
  });
  const schedules = new Schedules(q.client, prefix, queue);
  return { prefix, q, runs, task, schedules, [Symbol.asyncDispose]: () => q.close() };
}

/**
 * Pauses the schedule (no tick after this), waits for every job made to have run, stops the
 * workers, and checks: every tick's job ran once, one a second with none missing from the first
 * to the last, as many created as ticks (the queue's counter), on the schedule's anchor.
 */
async function expectOnePerTick(
  t: Awaited<ReturnType<typeof ticking>>,
  workers: Worker[],
  anchor: number,
) {
  await t.schedules.pause("s");
  const keys = shardKeys(t.prefix, t.q.options.queue, t.q.shards);
  const count = async (field: string) => {
    const all = await Promise.all(
      keys.map((k) => t.q.client.sendCommand<string | null>(["HGET", k.stats, field])),
    );
    return all.reduce((n, c) => n + Number(c ?? 0), 0);
  };
  await until(async () => (await count("finished")) === (await count("enqueued")), "every job run");
  await Promise.all(workers.map((w) => w.stop(0)));
  const ticks = [...t.runs.keys()].map((id) => Number(id.split(":")[2])).sort((a, b) => a - b);
  expect(await count("enqueued")).toBe(ticks.length);
  expect([...t.runs.values()].every((n) => n === 1)).toBe(true);
  expect([...t.runs.keys()].sort()).toEqual(ticks.map((tick) => scheduleJobId("s", tick)).sort());
  for (const [i, tick] of ticks.entries()) expect(tick).toBe(ticks[0]! + i * 1_000);
  expect((ticks[0]! - anchor) % 1_000).toBe(0);
  return ticks;
}

test("every 1s, three workers and a scheduler killed and restarted for 20 s: one job per tick", async () => {
  await using t = await ticking("ticks");
  const { prefix } = t;
  const start = () => startWorker({ prefix, queue: "ticks", tasks: [t.task], concurrency: 2 });
  const workers: Worker[] = await Promise.all([start(), start(), start()]);
  const added = await t.schedules.add({ name: "s", every: "1s", task: "tick" });
  expect(added.created).toBe(true);

  const scheduler = () => spawnCli("schedule", ["run", "--prefix", prefix, "--log-format", "json"]);
  let proc = scheduler();
  let kills = 0;
  const until20s = Date.now() + RUN_MS;
  let replaced = false;
  while (Date.now() < until20s) {
    // The pattern of the load, not a wait for an event: a kill at an arbitrary moment.
    await Bun.sleep(700 + Math.floor(Math.random() * 1_600));
    proc.kill("SIGKILL");
    await proc.exited;
    kills++;
    proc = scheduler();
    if (!replaced && Date.now() > until20s - RUN_MS / 2) {
      replaced = true;
      await workers[0]!.stop(0);
      workers[0] = await start();
    }
  }
  proc.kill("SIGKILL");
  await proc.exited;
  expect(kills).toBeGreaterThanOrEqual(8);
  const ticks = await expectOnePerTick(t, workers, added.def!.created_at);
  expect(ticks.length).toBeGreaterThanOrEqual(RUN_MS / 1_000 - 2);
}, 90_000);

test("only a scheduler killed and restarted fires (workers --no-schedules): no tick lost, none twice", async () => {
  // Killed and back within a second or two: each tick it missed is late, not missed (LATE_MS),
  // and gets its job when it is back; a kill between a tick's enqueue and its advance makes
  // the restarted one fire that tick again, and find its job.
  await using t = await ticking("solo");
  const { prefix } = t;
  const workers = await Promise.all(
    [0, 1, 2].map(() => startWorker({ prefix, queue: "solo", tasks: [t.task], schedules: false })),
  );
  const added = await t.schedules.add({ name: "s", every: "1s", task: "tick" });
  const scheduler = () => spawnCli("schedule", ["run", "--prefix", prefix, "--queue", "solo"]);
  let proc = scheduler();
  const end = Date.now() + RUN_MS / 2;
  while (Date.now() < end) {
    await Bun.sleep(300 + Math.floor(Math.random() * 1_200)); // the load's pattern
    proc.kill("SIGKILL");
    await proc.exited;
    proc = scheduler();
  }
  // The last one runs until a tick after the kills has fired, then stops.
  const last = (await redisTime(t.q.client)) + 1_000;
  await until(() => [...t.runs.keys()].some((id) => Number(id.split(":")[2]) > last), "a tick");
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
  const ticks = await expectOnePerTick(t, workers, added.def!.created_at);
  expect(ticks.length).toBeGreaterThanOrEqual(RUN_MS / 2 / 1_000 - 2);
}, 90_000);
