// The short chaos run (`bun run chaos` is the long one): a few thousand jobs while workers are
// SIGKILLed every second, Redis is killed and restarted once, and connections are dropped.
import { expect, test } from "bun:test";
import { ROOT } from "./helpers.ts";

test("no acknowledged job is lost or recorded twice under kills, a Redis restart and drops", async () => {
  const proc = Bun.spawn({
    cmd: [
      process.execPath,
      "bench/chaos.ts",
      "--jobs",
      "3000",
      "--redis-restarts",
      "1",
      "--max-seconds",
      "60",
    ],
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  expect(err).toBe("");
  expect(code).toBe(0);
  const summary = JSON.parse(out);
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
