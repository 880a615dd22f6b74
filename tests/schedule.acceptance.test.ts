// Issue 14's acceptance test for recurring schedules: a schedule every second, three workers
// (each firing it) and a standalone scheduler process (`schedule.ts run`) killed (SIGKILL, mid-
// pass as it happens) and started again for about 20 s, one worker stopped and replaced half-
// way: exactly one job per tick. Counted: the jobs created (the queue's counter), the runs of
// each tick's job (the task records them), and the ticks themselves (one a second, none missing
// from the first to the last: something was firing all along).
import { expect, test } from "bun:test";
import { scheduleJobId, shardKeys } from "../lib/engine/keys.ts";
import { openLayout } from "../lib/engine/layout.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { defineTask } from "../lib/types.ts";
import type { Worker } from "../lib/worker/worker.ts";
import { openQueue, redisTime, spawnCli, startWorker, testPrefix, until } from "./helpers.ts";

const RUN_MS = 20_000;

/** The queue's counters summed over its shards. */
async function counter(q: Queue, prefix: string, queue: string, field: string): Promise<number> {
  const keys = shardKeys(prefix, queue, q.shards);
  const all = await Promise.all(
    keys.map((k) => q.client.sendCommand<string | null>(["HGET", k.stats, field])),
  );
  return all.reduce((n, c) => n + Number(c ?? 0), 0);
}

/** A task that counts its runs by job id. */
function tickTask(runs: Map<string, number>) {
  return defineTask({
    name: "tick",
    run: async (_payload: unknown, ctx) => {
      runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
      return "ok";
    },
  });
}

/** Every tick's job ran once, one a second with none missing, as many created as ticks. */
async function expectOnePerTick(runs: Map<string, number>, enqueued: number, anchor: number) {
  const ticks = [...runs.keys()].map((id) => Number(id.split(":")[2])).sort((a, b) => a - b);
  expect(enqueued).toBe(ticks.length);
  expect([...runs.values()].every((n) => n === 1)).toBe(true);
  expect([...runs.keys()].sort()).toEqual(ticks.map((t) => scheduleJobId("s", t)).sort());
  for (const [i, t] of ticks.entries()) expect(t).toBe(ticks[0]! + i * 1_000);
  expect((ticks[0]! - anchor) % 1_000).toBe(0);
  return ticks;
}

test("every 1s, three workers and a scheduler killed and restarted for 20 s: one job per tick", async () => {
  const prefix = testPrefix();
  const queue = "ticks";
  await using q = await openQueue({ prefix, queue });
  await openLayout(q.client, prefix, queue, q.shards, true);
  const schedules = new Schedules(q.client, prefix, queue);
  const runs = new Map<string, number>();
  const task = tickTask(runs);
  const start = () => startWorker({ prefix, queue, tasks: [task], concurrency: 2 });
  const workers: Worker[] = await Promise.all([start(), start(), start()]);
  const added = await schedules.add({ name: "s", every: "1s", task: "tick" });
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
  // No tick after this; then every job made is run.
  await schedules.pause("s");
  const count = (field: string) => counter(q, prefix, queue, field);
  await until(
    async () => (await count("finished")) === (await count("enqueued")),
    "every job enqueued to run",
  );
  await Promise.all(workers.map((w) => w.stop(0)));
  expect(kills).toBeGreaterThanOrEqual(8);
  const ticks = await expectOnePerTick(runs, await count("enqueued"), added.def!.created_at);
  expect(ticks.length).toBeGreaterThanOrEqual(RUN_MS / 1_000 - 2);
}, 90_000);

test("only a scheduler killed and restarted fires (workers --no-schedules): no tick lost, none twice", async () => {
  // Killed and back within a second or two: each tick it missed is late, not missed (LATE_MS),
  // and gets its job when it is back; a kill between a tick's enqueue and its advance makes
  // the restarted one fire that tick again, and find its job.
  const prefix = testPrefix();
  const queue = "solo";
  await using q = await openQueue({ prefix, queue });
  await openLayout(q.client, prefix, queue, q.shards, true);
  const schedules = new Schedules(q.client, prefix, queue);
  const runs = new Map<string, number>();
  const task = tickTask(runs);
  const workers = await Promise.all(
    [0, 1, 2].map(() => startWorker({ prefix, queue, tasks: [task], schedules: false })),
  );
  const added = await schedules.add({ name: "s", every: "1s", task: "tick" });
  const scheduler = () => spawnCli("schedule", ["run", "--prefix", prefix, "--queue", queue]);
  let proc = scheduler();
  const end = Date.now() + RUN_MS / 2;
  while (Date.now() < end) {
    await Bun.sleep(300 + Math.floor(Math.random() * 1_200)); // the load's pattern
    proc.kill("SIGKILL");
    await proc.exited;
    proc = scheduler();
  }
  // The last one runs until a tick after the kills has fired, then stops.
  const last = (await redisTime(q.client)) + 1_000;
  await until(() => [...runs.keys()].some((id) => Number(id.split(":")[2]) > last), "a tick");
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
  await schedules.pause("s");
  const count = (field: string) => counter(q, prefix, queue, field);
  await until(
    async () => (await count("finished")) === (await count("enqueued")),
    "every job enqueued to run",
  );
  await Promise.all(workers.map((w) => w.stop(0)));
  const ticks = await expectOnePerTick(runs, await count("enqueued"), added.def!.created_at);
  expect(ticks.length).toBeGreaterThanOrEqual(RUN_MS / 2 / 1_000 - 2);
}, 90_000);
