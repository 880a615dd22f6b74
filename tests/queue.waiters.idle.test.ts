// A Queue's waits each block on a connection of their own (lib/queue/waiters.ts), kept for the
// next wait: a burst of waits at once must give its extra connections back once they have
// idled, not hold them for the Queue's whole life (a service that once waited on 500 jobs at
// once kept 500 connections to Redis until it closed the Queue).
import { expect, test } from "bun:test";
import { defaults } from "../lib/config.ts";
import { Waiters } from "../lib/queue/waiters.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { connectService } from "../lib/redis/service-client.ts";
import { redisUrl, until } from "./helpers.ts";

const connectWaiter = () =>
  connectService({ ...defaults, redisUrl: redisUrl() }, "courier-waiter", { blocking: true });
const closed = () => new Error("closed");

test("a burst of waits gives its connections back once they idle; a wait in time reuses one", async () => {
  const waiters = new Waiters(connectWaiter, 50);
  try {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const used: Redis[] = [];
    const wait = async (c: Redis) => {
      used.push(c);
      await gate;
    };
    const burst = [1, 2, 3].map(() => waiters.with(wait, closed));
    await until(() => used.length === 3, "three waits under way");
    expect(new Set(used).size).toBe(3);
    release();
    await Promise.all(burst);
    const open = () => used.filter((c) => c.isReady).length;
    expect(open()).toBe(3); // kept for the next waits
    await waiters.with(async (c) => expect(used).toContain(c), closed); // reused, none opened
    expect(used.length).toBe(3);
    await until(() => open() === 0, "the idle connections closed", 5_000);
  } finally {
    await waiters.close();
  }
});

test("close() before the idle time ends closes the idle connection at once", async () => {
  const waiters = new Waiters(connectWaiter, 60_000);
  let used: Redis | undefined;
  await waiters.with(async (c) => {
    used = c;
  }, closed);
  expect(used?.isReady).toBe(true);
  await waiters.close();
  expect(used?.isReady).toBe(false);
});
