// A host that always says "slow down", through the CLIs: `worker --max-holds 1` holds the job
// once (no attempt spent), then fails it for good at the next 429, and `result` says why; a bad
// --max-holds is one line and exit 2.
import { expect, test } from "bun:test";
import { runCli, servePages, spawnCli, testPrefix } from "./helpers.ts";

test("worker --max-holds 1: one hold, then the next 429 fails the job, saying so", async () => {
  const prefix = testPrefix();
  let requests = 0;
  const server = servePages(() => {
    requests++;
    return new Response("slow down", { status: 429, headers: { "retry-after": "0" } });
  });
  const url = `http://127.0.0.1:${server.port}/page`;
  const worker = spawnCli("worker", ["--prefix", prefix, "--allow-private", "--max-holds", "1"]);
  try {
    const run = await runCli("trigger", [
      "--url",
      url,
      "--prefix",
      prefix,
      "--wait",
      "20",
      "--json",
    ]);
    const job = JSON.parse(run.stdout);
    expect(job.status).toBe("failed");
    expect(job.error).toBe(
      `HTTP 429 Too Many Requests from ${url} (retry after 0 s) (held 1 time by its task, the most a job may be (maxHolds 1): failed for good)`,
    );
    // The hold spent no attempt: the one answer that failed it did.
    expect(job.attempts).toBe(1);
    expect(requests).toBe(2);
  } finally {
    worker.kill("SIGTERM");
    await worker.exited;
    server.stop(true);
  }
}, 30_000);

test("a --max-holds that is not a whole number from 0 to 1000: one line (and the hint to --help), exit 2", async () => {
  const r = await runCli("worker", ["--prefix", testPrefix(), "--max-holds", "-1"]);
  expect(r.code).toBe(2);
  expect(r.stderr.split("\n")[0]).toBe(
    'worker: --max-holds must be a whole number from 0 to 1000, got "-1"',
  );
});
