// node-redis' per-command write timeout and tracing, as Courier's connections use them
// (lib/redis/connect.ts, lib/redis/tracing.ts): a command sent on a ready watched connection (a
// worker's Link) or one with an answer limit (a producer's, a CLI's: its limit fails a command
// stuck unwritten, tests/redis.no-answer.test.ts) arms no timer, one sent while it is not ready
// keeps node-redis' timeout; node-redis traces a command only when someone subscribes.
import { afterEach, describe, expect, test } from "bun:test";
import dc from "node:diagnostics_channel";
import { connect } from "../lib/redis/connect.ts";
import { onOneServer, redisUrl } from "./helpers.ts";

const timeout = AbortSignal.timeout;
afterEach(() => {
  AbortSignal.timeout = timeout;
});

/** Counts the AbortSignal.timeout timers armed while `during` runs. */
async function timersArmed(during: () => Promise<unknown>): Promise<number> {
  let armed = 0;
  AbortSignal.timeout = (ms: number) => {
    armed++;
    return timeout.call(AbortSignal, ms);
  };
  try {
    await during();
  } finally {
    AbortSignal.timeout = timeout;
  }
  return armed;
}

describe.if(onOneServer)("a connection's commands", () => {
  test("an unwatched connection's (a producer's: an answer limit) arm none while it is ready", async () => {
    const c = await connect(redisUrl(), { failFast: true });
    try {
      const armed = await timersArmed(async () => {
        for (let i = 0; i < 20; i++) await c.sendCommand(["PING"]);
      });
      expect(armed).toBe(0);
    } finally {
      c.destroy();
    }
  });

  test("a watched one's, sent while it is ready, arm none; sent while it is not, they do", async () => {
    const c = await connect(redisUrl(), { watched: true });
    try {
      const ready = await timersArmed(async () => {
        for (let i = 0; i < 20; i++) await c.sendCommand(["PING"]);
      });
      expect(ready).toBe(0);
      // Killed from the server's side: the client reconnects, and a command sent meanwhile
      // waits in the offline queue under node-redis' timeout, as before.
      const id = String(await c.sendCommand(["CLIENT", "ID"]));
      const killer = await connect(redisUrl());
      let queued = 0;
      try {
        const down = new Promise<void>((resolve) => c.on("error", () => resolve()));
        await killer.sendCommand(["CLIENT", "KILL", "ID", id]);
        await down;
        expect(c.isReady).toBe(false);
        queued = await timersArmed(() => c.sendCommand(["PING"]));
      } finally {
        killer.destroy();
      }
      expect(queued).toBe(1);
    } finally {
      c.destroy();
    }
  });
});

describe("node-redis tracing", () => {
  test("says no one listens until someone subscribes, then traces the commands", async () => {
    const channel = dc.tracingChannel("node-redis:command");
    expect(channel.hasSubscribers).toBe(false);
    const seen: unknown[] = [];
    const start = (message: unknown) => seen.push(message);
    dc.subscribe("tracing:node-redis:command:start", start);
    const c = await connect(redisUrl());
    try {
      expect(channel.hasSubscribers).toBe(true);
      await c.sendCommand(["PING"]);
      expect(seen.length).toBeGreaterThan(0);
    } finally {
      dc.unsubscribe("tracing:node-redis:command:start", start);
      c.destroy();
    }
    expect(channel.hasSubscribers).toBe(false);
  });
});
