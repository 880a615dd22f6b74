// `worker --health-host` without `--health-port` was ignored silently (no health server starts
// without a port): refused, exit 2, before anything runs.
import { expect, test } from "bun:test";
import { runUsage } from "./fixtures/cli/in-process.ts";
import { testPrefix } from "./helpers.ts";

test("worker --health-host alone: exit 2, one line", async () => {
  const r = await runUsage("worker", [
    "--prefix",
    testPrefix(),
    "--burst",
    "--health-host",
    "evil host",
  ]);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(
    "worker: --health-host goes with --health-port: without a port there is no health server\nRun with --help to see the options.\n",
  );
});
