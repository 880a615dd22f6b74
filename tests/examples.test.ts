// The README's library example must run as written.
import { expect, test } from "bun:test";
import { onOneServer, redisUrl, runProcess } from "./helpers.ts";

test("examples/service.ts enqueues in bulk, runs a worker in-process and prints the results", async () => {
  const run = await runProcess([process.execPath, "examples/service.ts"], {
    env: { ...process.env, REDIS_URL: redisUrl() },
  });
  expect(run).toMatchObject({ code: 0, stderr: "" });
  expect(run.stdout.trim().split("\n")).toEqual([
    'finished {"width":160}',
    'finished {"width":200}',
    'finished {"width":256}',
  ]);
});

// The example's store is a plain node-redis client of one server (createClient), not a
// cluster's: the cluster pass skips it.
test.skipIf(!onOneServer)(
  "examples/fenced-store.ts: the second run's write stands, run 1's late write is refused",
  async () => {
    const run = await runProcess([process.execPath, "examples/fenced-store.ts"], {
      env: { ...process.env, REDIS_URL: redisUrl() },
    });
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout.trim().split("\n")).toEqual([
      "runs: 2, each fence higher: true",
      "late write from run 1: refused",
      "example:report:weekly = weekly report (attempt 2)",
    ]);
  },
);
