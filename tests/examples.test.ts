// The README's library example must run as written.
import { expect, test } from "bun:test";
import { redisUrl, runProcess } from "./helpers.ts";

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
