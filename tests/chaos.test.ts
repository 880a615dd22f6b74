// The short chaos run (`bun run chaos` is the long one): a few thousand jobs while workers are
// SIGKILLed every second, Redis is killed and restarted once, and connections are dropped.
import { expect, test } from "bun:test";
import { runProcess } from "./helpers.ts";

test("no acknowledged job is lost or recorded twice under kills, a Redis restart and drops", async () => {
  const run = await runProcess([
    ...[process.execPath, "bench/chaos.ts", "--jobs", "3000"],
    ...["--redis-restarts", "1", "--max-seconds", "60"],
  ]);
  expect(run).toMatchObject({ code: 0, stderr: "" });
  const summary = JSON.parse(run.stdout);
  expect(summary).toMatchObject({
    jobs: 3000,
    finished: 3000,
    lost: 0,
    wrongResults: 0,
    recordedFinishes: 3000,
    pending: 0,
    streamLength: 0,
    delayed: 0,
    redisRestarts: 1,
  });
  expect(summary.workerKills).toBeGreaterThan(0);
}, 90_000);
