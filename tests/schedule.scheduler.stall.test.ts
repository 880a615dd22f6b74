// A standalone scheduler (`schedule.ts run`, startScheduler) whose connection is cut without
// closing (a proxy that discards everything: nothing ever errors) must fire again once the
// network is back. It kept its first connection, whose commands timed out for ever: no tick
// fired again, and every schedule showed OVERDUE. A pass with no answer replaces it now.
import { expect, test } from "bun:test";
import { scripts } from "../lib/engine/lua.ts";
import { NoAnswerError } from "../lib/errors.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { ScheduleLoop } from "../lib/schedule/loop.ts";
import { startScheduler } from "../lib/schedule/scheduler.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { viaProxy } from "./fixtures/proxy.ts";
import { logRecorder, onOneServer, openQueue, testPrefix, until } from "./helpers.ts";

/** A connection on which every enqueue goes unanswered (a queue's node cut off), the rest answered. */
function enqueuesUnanswered(client: Redis): Redis {
  const { sha, source } = scripts.enqueue;
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== "sendCommand") return Reflect.get(target, prop, receiver);
      return async (args: readonly string[]) => {
        if (args[1] === sha || args[1] === source) throw new NoAnswerError("no answer");
        return target.sendCommand(args);
      };
    },
  });
}

// One server only: the proxy fronts one server (a cluster client would go around it).
test.if(onOneServer)(
  "a standalone scheduler fires again after its connection stalled",
  async () => {
    const prefix = testPrefix();
    const { proxy, url } = viaProxy();
    await using q = await openQueue({ prefix });
    const log = logRecorder();
    let fired = 0;
    const onPass = (r: { fired: number }) => {
      fired += r.fired;
    };
    const scheduler = await startScheduler({ redisUrl: url, prefix, logger: log, onPass });
    try {
      proxy.stall(); // the open connection now discards everything, both ways
      // A pass unanswered for commandTimeoutMs (10 s): the connection is cut.
      const unanswered = () =>
        log.records.some((r) => String(r.fields.error ?? "").includes("did not answer"));
      await until(unanswered, "a pass with no answer", 20_000);
      proxy.resume(); // new connections go through again; the stalled one never does
      await new Schedules(q.client, prefix, "default").add({ name: "s", every: "1s", task: "t" });
      await until(() => fired > 0, "a tick fired after the stall", 10_000);
      expect(fired).toBeGreaterThan(0);
    } finally {
      await scheduler.stop();
      proxy.close();
    }
  },
  40_000,
);

// On a cluster the schedules' node and a queue's may differ: the pass reads its due schedules,
// and only the tick's enqueue goes unanswered. That pass too says the connection may be cut.
test("a pass whose enqueue got no answer has the loop's connection replaced", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  let client = enqueuesUnanswered(q.client);
  let stalls = 0;
  let fired = 0;
  const loop = new ScheduleLoop({
    client: () => client,
    prefix,
    queues: ["default"],
    log: logRecorder(),
    stalled: () => {
      stalls++;
      client = q.client; // the replacement answers
    },
    onPass: (r) => {
      fired += r.fired;
    },
  });
  await new Schedules(q.client, prefix, "default").add({ name: "s", every: "1s", task: "t" });
  loop.start();
  try {
    await until(() => fired > 0, "a tick fired on the replacement", 10_000);
    expect(stalls).toBe(1);
  } finally {
    await loop.stop();
  }
});
