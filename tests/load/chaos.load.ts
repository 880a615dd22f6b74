// The short chaos run (`bun run test:load`, not `npm test`; `bun run chaos` is the long one): a
// few thousand jobs while workers are SIGKILLed every second, Redis is killed and restarted once,
// and connections are dropped; and the same on a local 3+3 cluster with one master killed
// (`bun run chaos --cluster`). The guarantees themselves are checked deterministically in the
// suite (tests/guarantees.*, tests/reliability.*).
import { expect, test } from "bun:test";
import { runProcess } from "../helpers.ts";

/**
 * Runs bench/chaos.ts with `args` for `jobs` jobs; checks its exit and what every chaos run must
 * say (none lost, none wrong, each recorded once, nothing left behind), and returns its summary.
 */
async function chaos(jobs: number, args: string[], also: Record<string, unknown> = {}) {
  const run = await runProcess([
    ...[process.execPath, "bench/chaos.ts", "--jobs", String(jobs)],
    ...[...args, "--max-seconds", "60"],
  ]);
  expect(run).toMatchObject({ code: 0, stderr: "" });
  const summary = JSON.parse(run.stdout);
  expect(summary).toMatchObject({
    jobs,
    finished: jobs,
    lost: 0,
    wrongResults: 0,
    recordedFinishes: jobs,
    pending: 0,
    streamLength: 0,
    delayed: 0,
    ...also,
  });
  return summary;
}

test("no acknowledged job is lost or recorded twice under kills, a Redis restart and drops", async () => {
  const summary = await chaos(3000, ["--redis-restarts", "1"], { redisRestarts: 1 });
  expect(summary.workerKills).toBeGreaterThan(0);
}, 90_000);

test("--concurrency 1: workers holding a job ahead (prefetch) lose none and record each once", async () => {
  const summary = await chaos(3000, [
    ...["--concurrency", "1", "--page-delay-ms", "3"],
    ...["--kill-every-ms", "500", "--redis-restarts", "1"],
  ]);
  expect(summary.workerKills).toBeGreaterThan(0);
}, 90_000);

test("--cluster: a 3+3 cluster, 6 shards, a master killed midway: nothing lost, each result once", async () => {
  const summary = await chaos(600, ["--cluster", "--workers", "2"], { cluster: "3+3, 6 shards" });
  // The kill really happened: a master replaced by its replica, and back as a replica.
  expect(summary.masterKills).toHaveLength(1);
  expect(summary.masterKills[0].failoverMs).toBeGreaterThan(0);
}, 90_000);
