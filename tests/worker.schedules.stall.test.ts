// A worker's command connection that stalls is replaced (lib/redis/link.ts); the recurring
// schedules it fires (lib/schedule/loop.ts) must go on through the new one. A loop that kept
// the first client fired nothing after the replacement, logging "The client is closed" every
// second for ever, and its schedules were shown OVERDUE.
import { expect, test } from "bun:test";
import { Schedules } from "../lib/schedule/schedules.ts";
import { defineTask } from "../lib/types.ts";
import { viaProxy } from "./fixtures/proxy.ts";
import { logRecorder, onOneServer, openQueue, startWorker, testPrefix, until } from "./helpers.ts";

// One server only: the proxy fronts one server (a cluster client would go around it).
test.if(onOneServer)(
  "schedules fire again after the worker's command connection was replaced",
  async () => {
    const prefix = testPrefix();
    const { proxy, url } = viaProxy();
    await using q = await openQueue({ prefix });
    const log = logRecorder();
    let runs = 0;
    const tick = defineTask({
      name: "tick",
      run: async () => {
        runs++;
        return "ok";
      },
    });
    const w = await startWorker({
      prefix,
      tasks: [tick],
      redisUrl: url,
      logger: log,
      // The stall watchdog's limit, and the worker's connect limit too (Link.open).
      commandTimeoutMs: 1_500,
    });
    try {
      const replaced = () =>
        log.records.some(
          (r) =>
            r.event === "redis connection stalled; reconnecting" &&
            r.fields.connection === "commands",
        );
      proxy.stall(); // nothing answers: the watchdog replaces the command connection
      await until(replaced, "the command connection replaced");
      proxy.resume();
      await new Schedules(q.client, prefix, "default").add({
        name: "s",
        every: "1s",
        task: "tick",
      });
      await until(() => runs > 0, "a tick fired by the worker after the replacement", 15_000);
      expect(runs).toBeGreaterThan(0);
    } finally {
      await w.stop();
      proxy.close();
    }
  },
  30_000,
);
