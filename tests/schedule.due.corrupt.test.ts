// One queue's `next` key of another type (corrupt) keeps only its own schedules from firing: the
// due read (schedule-due.lua) skips it, names it (the scheduler warns: tests/schedule.fire.test.ts),
// and returns every other queue's due schedules.
import { expect, test } from "bun:test";
import { scheduleKeys } from "../lib/engine/keys.ts";
import { readDue } from "../lib/engine/schedule.ts";
import { openQueue, testPrefix } from "./helpers.ts";

test("a queue's next key of another type does not stop the other queues' schedules", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const sk = scheduleKeys(prefix);
  await q.client.sendCommand(["SADD", sk.queues, "broken", "fine"]);
  await q.client.sendCommand(["SET", sk.next("broken"), "not a zset"]);
  await q.client.sendCommand(["ZADD", sk.next("fine"), "1000", "nightly"]);
  for (const queues of [[], ["broken", "fine"]]) {
    const read = await readDue(q.client, sk, 10, queues);
    expect(read.due.map((d) => [d.queue, d.name])).toEqual([["fine", "nightly"]]);
    expect(read.broken).toEqual(["broken"]);
  }
});
