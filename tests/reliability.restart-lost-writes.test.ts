// Redis restarted on data older than what it had acknowledged (appendfsync everysec loses up to
// a second or two of writes on a crash, more on a busy disk): entries the worker had finished
// are pending on it again, and no read of the worker's failed to tell it so. Its own pending
// entries are read again once a connection is back, so those jobs run again instead of staying
// "started" for ever (a worker never claims its own entries; only a restart would free them).
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "../lib/queue/queue.ts";
import { connect } from "../lib/redis/connect.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import { defineTask } from "../lib/types.ts";
import { startWorker, testPrefix, until } from "./helpers.ts";

let dataDir = "";
let port = 0;
let server: RedisServer | null = null;
// No AOF: a restart loads the dump.rdb the test saved, the state at a moment it chose.
const start = async () => {
  server = await startRedisServer({ port, dataDir, persistence: false });
  return server;
};

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "courier-lost-writes-"));
  port = await findFreePort();
  await start();
});

afterEach(async () => {
  await server?.stop(2_000);
  rmSync(dataDir, { recursive: true, force: true });
});

test("a job a restart put back pending on a busy worker runs again", async () => {
  const redisUrl = server!.url;
  const prefix = testPrefix();
  const raw = await connect(redisUrl);
  const q = await Queue.connect({ redisUrl, prefix, retryConnectS: 10 });
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const ran: string[] = [];
  const work = defineTask({
    name: "work",
    run: async (name: string) => {
      ran.push(name);
      // Redis' state while A runs (A pending, B queued) is what the restart brings back.
      if (name === "A" && ran.length === 1) await raw.sendCommand(["SAVE"]);
      // B holds the one slot: no read of the worker's is out when Redis goes.
      if (name === "B") await gate;
      return name;
    },
  });
  // Concurrency 1: A's finish takes B, and the worker's read loop waits for the slot. No
  // prefetch: held ahead, B would start as A's run ended, before A's finish was recorded (A
  // read "started" here), and a read asking ahead could be out when Redis goes.
  const w = await startWorker({ prefix, redisUrl, tasks: [work], concurrency: 1, prefetch: 0 });
  const [a, b] = (
    await q.enqueueMany([
      { task: "work", payload: "A" },
      { task: "work", payload: "B" },
    ])
  ).map((e) => e.id);
  await until(() => ran.includes("B"), "B to start");
  expect((await q.getJob(a!))?.status).toBe("finished");

  raw.destroy();
  server!.kill();
  await server!.exited;
  await start(); // A is pending on the worker again, B queued
  await until(() => w.ready(), "the worker to reconnect");
  open();

  const { pending } = await q.waitForJobs([a!, b!], { timeoutMs: 10_000 });
  expect(pending).toEqual([]);
  const jobs = await q.getJobs([a!, b!]);
  expect(jobs.map((j) => [j?.status, j?.result])).toEqual([
    ["finished", "A"],
    ["finished", "B"],
  ]);
  expect(ran.filter((n) => n === "A").length).toBe(2);
  await w.stop();
  await q.close();
});
