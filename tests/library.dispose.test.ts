// `await using` on what the library opens (Queue, Admin, Schedules, Worker, startScheduler,
// startDashboard): each closes or stops as its block ends, every connection with it. Without
// Symbol.asyncDispose, `await using` threw a TypeError once connected, the connection left open.
import { expect, test } from "bun:test";
import {
  Admin,
  InputError,
  Queue,
  Schedules,
  startDashboard,
  startScheduler,
  Worker,
} from "../lib/index.ts";
import { clientList, rawRedis, redisUrl, testPrefix, testShards, until } from "./helpers.ts";

const connections = (list: string) => list.split("\n").filter((l) => l.startsWith("id=")).length;

test("await using closes a Queue, an Admin, a Schedules, a Worker, a scheduler and a dashboard", async () => {
  await using r = await rawRedis();
  const before = connections(await clientList(r));
  const prefix = testPrefix();
  const o = { redisUrl: redisUrl(), prefix, shards: testShards() };
  const opened: { queue?: Queue; admin?: Admin; schedules?: Schedules; worker?: Worker } = {};
  let url = "";
  {
    await using queue = await Queue.connect(o);
    await using admin = await Admin.connect(o);
    await using schedules = await Schedules.connect({ redisUrl: o.redisUrl, prefix });
    const tasks = [{ name: "t", run: async () => 1 }];
    await using worker = await Worker.start({ ...o, tasks, blockMs: 100 });
    await using _scheduler = await startScheduler({ redisUrl: o.redisUrl, prefix });
    await using dashboard = await startDashboard({ redisUrl: o.redisUrl, prefix, port: 0 });
    Object.assign(opened, { queue, admin, schedules, worker });
    url = dashboard.url;
    expect(await (await fetch(`${url}/healthz`)).text()).toBeString();
    expect(connections(await clientList(r))).toBeGreaterThan(before);
  }
  for (const call of [
    async () => opened.queue?.getJob("1-0"),
    async () => opened.admin?.overview(),
    async () => opened.schedules?.list(),
  ] as (() => Promise<unknown>)[]) {
    await expect(call()).rejects.toThrow(InputError);
  }
  expect(await fetch(url).catch((e) => e)).toBeInstanceOf(Error);
  await until(async () => connections(await clientList(r)) === before, "every connection closed");
  await opened.worker?.stopped;
});
