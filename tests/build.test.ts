// `bun run build` makes standalone executables; one is built and run here for real.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { openQueue, ROOT, redisUrl, runProcess, testPrefix } from "./helpers.ts";

test("a compiled trigger enqueues a job without Bun or the sources", async () => {
  const build = await runProcess(["bun", "run", "build", "trigger"]);
  expect(build.code).toBe(0);
  expect(build.stdout).toContain("built dist/trigger");
  const prefix = testPrefix();
  const run = await runProcess(
    [join(ROOT, "dist", "trigger"), "--url", "www.example.org", "--prefix", prefix],
    // Nothing of the checkout is reachable by a relative path, and no Bun on the PATH.
    { cwd: "/", env: { PATH: "/usr/bin:/bin", REDIS_URL: redisUrl() } },
  );
  expect(run).toMatchObject({ code: 0, stderr: "" });
  await using q = await openQueue({ prefix });
  expect(await q.getJob(run.stdout.trim())).toMatchObject({
    task: "wordcount",
    status: "queued",
    payload: { url: "https://www.example.org/" },
  });
}, 60_000);
