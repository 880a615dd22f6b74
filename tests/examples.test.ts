// The README's library example must run as written.
import { expect, test } from "bun:test";
import { ROOT, redisUrl } from "./helpers.ts";

test("examples/service.ts enqueues in bulk, runs a worker in-process and prints the results", async () => {
  const proc = Bun.spawn({
    cmd: [process.execPath, "examples/service.ts"],
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: redisUrl() },
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
  expect(out.trim().split("\n")).toEqual([
    'finished {"width":160}',
    'finished {"width":200}',
    'finished {"width":256}',
  ]);
});
