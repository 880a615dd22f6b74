// Worker.stop() ends by one deadline, its grace period plus STOP_MARGIN_MS (lib/worker/stop.ts),
// and a job that ended has that margin for its outcome (RR2: 2 s cut the outcome of a job that
// ended as Redis slowed for a few seconds, and it ran again on another worker); whatever Redis
// does: with Redis away and a task that never settles, the steps after the grace
// (outcomes, release, frees, close), each bounded by commandTimeoutMs, share that margin
// instead of adding their bounds up (R1: 34.8 s for a 25 s grace, promised under 30 s).
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "../lib/queue/queue.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import { defineTask } from "../lib/types.ts";
import { STOP_MARGIN_MS } from "../lib/worker/stop.ts";
import { viaProxy } from "./fixtures/proxy.ts";
import { onOneServer, openQueue, startWorker, testPrefix, testShards } from "./helpers.ts";

let server: RedisServer | null = null;
const dataDir = mkdtempSync(join(tmpdir(), "courier-stop-deadline-"));
afterEach(async () => {
  await server?.stop(2_000);
  rmSync(dataDir, { recursive: true, force: true });
});

test("Redis away and a task that never settles: stop() ends by its grace plus the margin", async () => {
  const port = await findFreePort();
  server = await startRedisServer({ port, dataDir, persistence: false });
  const prefix = testPrefix();
  const q = await Queue.connect({ redisUrl: server.url, prefix, shards: testShards() });
  await q.enqueue("never", 1);
  await q.close();
  let started!: () => void;
  const running = new Promise<void>((resolve) => {
    started = resolve;
  });
  const never = defineTask({
    name: "never",
    run: () => {
      started();
      return new Promise(() => {});
    },
  });
  const graceMs = 300;
  // Each step's own bound far past the margin: added up, they would take tens of seconds.
  const w = await startWorker({
    prefix,
    redisUrl: server.url,
    tasks: [never],
    shutdownGraceMs: graceMs,
    commandTimeoutMs: 8_000,
    reconnectMaxMs: 100,
  });
  await running;
  server.kill();
  await server.exited;
  server = null;
  const t0 = performance.now();
  await w.stop();
  const took = performance.now() - t0;
  expect(took).toBeGreaterThanOrEqual(graceMs - 5);
  // Some room for the closing itself (destroying clients) on a busy machine.
  expect(took).toBeLessThan(graceMs + STOP_MARGIN_MS + 1_000);
});

// One server only: the proxy fronts one server (a cluster client would go around it).
test.if(onOneServer)(
  "Redis slow past the grace: a job that ended has its outcome written within the margin",
  async () => {
    const { proxy, url } = viaProxy();
    try {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix });
      const id = await q.enqueue("brief", 1);
      let started!: () => void;
      const running = new Promise<void>((resolve) => {
        started = resolve;
      });
      let end!: () => void;
      const ended = new Promise<void>((resolve) => {
        end = resolve;
      });
      let runs = 0;
      const brief = defineTask({
        name: "brief",
        run: async () => {
          runs++;
          started();
          await ended;
          return "done";
        },
      });
      const w = await startWorker({ prefix, redisUrl: url, tasks: [brief], shutdownGraceMs: 300 });
      await running;
      // Redis slow for 2.5 s from the job's end on (its outcome's call waits in the proxy): past
      // the grace, within the margin. Nothing fails: the outcome lands once Redis answers.
      proxy.hold();
      end();
      const stopping = w.stop();
      const slow = setTimeout(() => proxy.release(), 2_500);
      await stopping;
      clearTimeout(slow);
      expect({ runs, job: await q.getJob(id) }).toMatchObject({
        runs: 1,
        job: { status: "finished", result: "done" },
      });
    } finally {
      proxy.close();
    }
  },
);
