// A schedule that cannot fire is logged by its name, cut past any name Courier takes: a
// definition written by hand under a 1 MB name made a 1 MB log line at each of its back-offs.
import { expect, test } from "bun:test";
import { scheduleKeys } from "../lib/engine/keys.ts";
import { ID_SHOWN_MAX } from "../lib/safe-text.ts";
import { ScheduleLoop } from "../lib/schedule/loop.ts";
import { logRecorder, openQueue, redisTime, testPrefix, until } from "./helpers.ts";

test("a corrupt schedule under a 1 MB name is logged with its name cut", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q" });
  const sk = scheduleKeys(prefix);
  const name = "S".repeat(1_000_000);
  const c = q.client;
  await c.sendCommand(["HSET", sk.defs, name, "not a definition"]);
  await c.sendCommand(["HSET", sk.where, name, "q"]);
  await c.sendCommand(["ZADD", sk.names("q"), "0", name]);
  await c.sendCommand(["ZADD", sk.next("q"), String((await redisTime(c)) - 1_000), name]);
  await c.sendCommand(["SADD", sk.queues, "q"]);
  const log = logRecorder();
  const loop = new ScheduleLoop({ client: () => c, prefix, queues: ["q"], log });
  loop.start();
  const stuck = () => log.records.find((r) => r.event === "a recurring schedule could not fire");
  try {
    await until(() => stuck() !== undefined, "the stuck schedule logged");
  } finally {
    await loop.stop();
  }
  expect(stuck()!.fields!.schedule).toBe(`${"S".repeat(ID_SHOWN_MAX)}…`);
});
