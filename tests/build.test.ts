// `bun run build` makes standalone executables; one is built and run here for real.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { openQueue, ROOT, redisUrl, testPrefix } from "./helpers.ts";

test("a compiled trigger enqueues a job without Bun or the sources", async () => {
  const build = Bun.spawn({
    cmd: ["bun", "run", "build", "trigger"],
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(await build.exited).toBe(0);
  expect(await new Response(build.stdout).text()).toContain("built dist/trigger");
  const prefix = testPrefix();
  const run = Bun.spawn({
    cmd: [join(ROOT, "dist", "trigger"), "--url", "www.example.org", "--prefix", prefix],
    cwd: "/", // nothing of the checkout is reachable by a relative path
    env: { PATH: "/usr/bin:/bin", REDIS_URL: redisUrl() },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(run.stdout).text(),
    new Response(run.stderr).text(),
    run.exited,
  ]);
  expect(err).toBe("");
  expect(code).toBe(0);
  const id = out.trim();
  await using q = await openQueue({ prefix });
  expect(await q.getJob(id)).toMatchObject({
    task: "wordcount",
    status: "queued",
    payload: { url: "https://www.example.org/" },
  });
}, 60_000);
