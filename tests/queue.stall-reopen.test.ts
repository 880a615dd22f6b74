// A Queue's connection that leaves a command unanswered may be cut for good (a NAT or a firewall
// that dropped it, a proxy gone silent): the kernel keeps it open for minutes. It kept that
// connection, and every later call failed `did not answer within …` for as long as it stayed
// (s5). It opens a new one now when a new connection answers where it did not (lib/redis/single.ts
// reopenIfCut), and calls after it go through; a Redis stopped keeps it (redis.no-answer).
import { expect, test } from "bun:test";
import { NoAnswerError } from "../lib/errors.ts";
import { Queue } from "../lib/queue/queue.ts";
import { viaProxy } from "./fixtures/proxy.ts";
import { onOneServer, testPrefix, until } from "./helpers.ts";

// One server only: the proxy fronts one server (a cluster client would go around it).
test.if(onOneServer)(
  "a Queue whose connection went silent opens a new one: later calls go through",
  async () => {
    const { proxy, url } = viaProxy();
    const q = await Queue.connect({ redisUrl: url, prefix: testPrefix(), commandTimeoutMs: 1_000 });
    try {
      expect(await q.getJob("1-0")).toBeNull();
      // The open connection goes nowhere, for good; new ones get through (a NAT that dropped it).
      proxy.stall();
      const lost = q.getJob("1-0").catch((e) => e);
      proxy.resume();
      expect(await lost).toBeInstanceOf(NoAnswerError);
      // The same Queue answers again, through a connection of its own making.
      await until(
        async () =>
          await q.getJob("1-0").then(
            () => true,
            () => false,
          ),
        "a call through the Queue's new connection",
        10_000,
      );
      expect(await q.getJob("1-0")).toBeNull();
    } finally {
      await q.close();
      proxy.close();
    }
  },
  30_000,
);
