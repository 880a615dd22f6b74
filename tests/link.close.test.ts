// A stopped worker leaves nothing that keeps the process alive (R1: a worker stopped while Redis
// stalled opened new connections after stop() began, the process alive ~10 s after it resolved).
// Link.close() aborts a reconnect under way (lib/redis/link.ts); the stall watchdog replaces no
// link once the stop began (lib/worker/shard-wiring.ts). One server only: the proxy fronts one
// node.
import { expect, test } from "bun:test";
import { Link } from "../lib/redis/link.ts";
import { defineTask } from "../lib/types.ts";
import { viaProxy } from "./fixtures/proxy.ts";
import { onOneServer, startWorker, testPrefix, until } from "./helpers.ts";

test.if(onOneServer)(
  "close() while a link reconnects: the connect under way is aborted, onReady never told",
  async () => {
    const { proxy, url } = viaProxy();
    try {
      let ready = 0;
      // The connect's own limit (5 s, the connect bound) is past the 2 s this test waits for the
      // connection to close: only the abort ends the hanging connect in time.
      const o = { redisUrl: url, reconnectMaxMs: 100, commandTimeoutMs: 60_000 };
      const link = await Link.open(
        o,
        "courier-test-link",
        () => {},
        () => ready++,
      );
      proxy.stallNew(); // the replacement's connect hangs, as on a stalled Redis
      link.replace();
      await until(() => proxy.accepted === 2, "the replacement's connection");
      await link.close();
      await until(() => proxy.open === 0, "the replacement's connection closed", 2_000);
      proxy.resume();
      expect(ready).toBe(0);
      expect(proxy.accepted).toBe(2);
    } finally {
      proxy.close();
    }
  },
);

test.if(onOneServer)(
  "a worker stopped while Redis stalls opens no connection after stop() began",
  async () => {
    const { proxy, url } = viaProxy();
    try {
      const w = await startWorker({
        prefix: testPrefix(),
        redisUrl: url,
        tasks: [defineTask({ name: "t", run: async () => null })],
        // The watchdog fires well within the stop's margin: commands stall during it. (200 ms
        // also bounded the start's connect, which a loaded full run once took longer than.)
        commandTimeoutMs: 1_000,
        reconnectMaxMs: 100,
        shutdownGraceMs: 0,
        schedules: false,
      });
      proxy.stall(); // Redis stops answering (DEBUG SLEEP): nothing errors, nothing comes back
      const before = proxy.accepted;
      await w.stop();
      expect(proxy.accepted).toBe(before);
      await until(() => proxy.open === 0, "every connection closed");
    } finally {
      proxy.close();
    }
  },
);
