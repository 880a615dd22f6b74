// A recurring schedule across a failover (issue 14: "whatever restarts or Redis failovers
// happen"): a schedule every second fired by three workers (durability replicated) on a real
// 3+3 cluster, and the master of the schedules' tag killed (kill -9) while it runs. After the
// failover the schedule goes on firing, and no tick has two jobs: a tick whose advance died
// with the master is fired again and finds its job (replicated before the advance).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { scheduleJobId, scheduleKeys, shardKeys } from "../lib/engine/keys.ts";
import { openLayout } from "../lib/engine/layout.ts";
import { Queue } from "../lib/queue/queue.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { defineTask } from "../lib/types.ts";
import { Worker } from "../lib/worker/worker.ts";
import { testPrefix, until } from "./helpers.ts";

let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await startCluster({ fullCoverage: false });
});

afterAll(async () => {
  await cluster?.stop();
});

test("the schedules' master killed: firing goes on, no tick twice", async () => {
  const prefix = testPrefix();
  const queue = "fo";
  const url = cluster.seedUrl;
  const q = await Queue.connect({ redisUrl: url, prefix, queue, shards: 6 });
  const workers: Worker[] = [];
  try {
    await openLayout(q.client, prefix, queue, 6, true);
    const runs = new Map<string, number>();
    const task = defineTask({
      name: "tick",
      run: async (_payload: unknown, ctx) => {
        runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
        return "ok";
      },
    });
    for (let i = 0; i < 3; i++) {
      const o = { redisUrl: url, prefix, queue, tasks: [task], blockMs: 100 };
      workers.push(await Worker.start({ ...o, promoteEveryMs: 20, durability: "replicated" }));
    }
    const schedules = new Schedules(q.client, prefix, queue);
    await schedules.add({ name: "s", every: "1s", task: "tick" });
    const tickOf = (id: string) => Number(id.split(":")[2]);
    await until(() => runs.size >= 3, "three ticks before the failover", 15_000);

    const { port } = await cluster.masterOf(scheduleKeys(prefix).defs);
    await cluster.kill(port);
    const after = Date.now() + 3_000;
    await until(
      () => [...runs.keys()].filter((id) => tickOf(id) > after).length >= 3,
      "three ticks after the failover",
      30_000,
    );
    await schedules.pause("s");

    const keys = shardKeys(prefix, queue, 6);
    const count = async (field: string) => {
      const all = await Promise.all(
        keys.map((k) => q.client.sendCommand<string | null>(["HGET", k.stats, field])),
      );
      return all.reduce((n, c) => n + Number(c ?? 0), 0);
    };
    await until(async () => (await count("finished")) === (await count("enqueued")), "all run");
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(await count("enqueued")).toBe(runs.size);
    const ticks = [...runs.keys()].map(tickOf).sort((a, b) => a - b);
    expect([...runs.keys()].sort()).toEqual(ticks.map((t) => scheduleJobId("s", t)).sort());
  } finally {
    await Promise.all(workers.map((w) => w.stop(0)));
    await q.close();
  }
}, 120_000);
