// An events iterator begun while Redis is away (restarting, a failover) waits for it, as its
// reads do (lib/queue/events.ts): each failure to find where it begins or to open its
// connection told to `onError`, tried again until Redis answers or the iterator is closed.
// Before, its first next() threw node-redis' own ClientOfflineError ("The client is offline")
// from "now", and a ConnectError from "start", at once. (A proxy plays Redis away: one server.)
import { expect, test } from "bun:test";
import { join } from "node:path";
import type { QueueEvent } from "../lib/queue/event-read.ts";
import { viaProxy } from "./fixtures/proxy.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import {
  onOneServer,
  openQueue,
  ROOT,
  rawRedis,
  runProcess,
  testPrefix,
  until,
} from "./helpers.ts";

for (const from of ["now", "start"]) {
  test.if(onOneServer)(
    `events({ from: "${from}" }) begun while Redis is away waits for it, saying so`,
    async () => {
      const { proxy, url } = viaProxy();
      try {
        await using q = await openQueue({
          prefix: testPrefix(),
          redisUrl: url,
          reconnectMaxMs: 50,
        });
        await using r = await rawRedis();
        const k = keysOf(q, "a");
        proxy.refuseNew();
        proxy.drop(); // Redis away: the queue's connection is cut, every new one refused
        const told: unknown[] = [];
        const events = q.events({ from, onError: (err) => told.push(err) });
        const next = events.next();
        let outcome: IteratorResult<QueueEvent> | unknown = null;
        next.then(
          (v) => (outcome = v),
          (err: unknown) => (outcome = err),
        );
        await until(() => told.length >= 2 || outcome !== null, "two failures told");
        expect(outcome).toBe(null); // still waiting: neither an error nor an end
        proxy.resume();
        await events.cursor(); // found where it begins
        await r.sendCommand(["XADD", k.events, "*", "type", "finished", "ids", "a"]);
        const got = await next;
        expect(got.done).toBe(false);
        expect((got.value as QueueEvent).id).toBe("a");
        events.close();
      } finally {
        proxy.close();
      }
    },
  );
}

test.if(onOneServer)(
  "an events iterator closed while Redis is away ends done, its opening given up",
  async () => {
    const { proxy, url } = viaProxy();
    try {
      await using q = await openQueue({ prefix: testPrefix(), redisUrl: url, reconnectMaxMs: 50 });
      proxy.refuseNew();
      proxy.drop();
      const told: unknown[] = [];
      const events = q.events({ from: "start", onError: (err) => told.push(err) });
      const next = events.next();
      await until(() => told.length > 0, "a failure told");
      events.close();
      expect(await next).toEqual({ done: true, value: undefined });
    } finally {
      proxy.close();
    }
  },
);

test.if(onOneServer)(
  "a host whose iterator is closed while Redis is away exits at once",
  async () => {
    const script = join(ROOT, "tests/fixtures/events-exit.ts");
    const { code, stdout } = await runProcess([process.execPath, script, testPrefix()]);
    expect(code).toBe(0);
    const { lingeredMs, failures } = JSON.parse(stdout);
    expect(failures).toBe(6);
    expect(lingeredMs).toBeLessThan(1_000); // not the 2 s back-off under way
  },
  20_000,
);

// Its "now" found and then its connection refused, the next try read "now" again: an event
// written in between was skipped, silently (r3). The first "now" is kept across tries.
test.if(onOneServer)(
  "events() whose connection opens only on a later try still yields what came after it began",
  async () => {
    const { proxy, url } = viaProxy();
    try {
      await using q = await openQueue({ prefix: testPrefix(), redisUrl: url, reconnectMaxMs: 50 });
      await using r = await rawRedis();
      const k = keysOf(q, "x");
      proxy.refuseNew(); // the queue's connection goes on; the iterator's own is refused
      const told: unknown[] = [];
      const events = q.events({ onError: (err) => told.push(err) });
      const next = events.next();
      await until(() => told.length > 0, "its connection refused once");
      await r.sendCommand(["XADD", k.events, "*", "type", "finished", "ids", "x"]);
      proxy.resume();
      await r.sendCommand(["XADD", k.events, "*", "type", "finished", "ids", "y"]);
      const got = await next;
      expect((got.value as QueueEvent).id).toBe("x");
      events.close();
    } finally {
      proxy.close();
    }
  },
);
