// `bun run build` makes one standalone executable, dist/courier; it is built once here and run
// for real, from directories where nothing of the checkout is reachable and Bun is not on PATH.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findFreePort } from "../lib/stack/redis-server.ts";
import pkg from "../package.json" with { type: "json" };
import { collect, exitCodeWithin } from "./fixtures/output.ts";
import { USER_TASKS } from "./fixtures/user-tasks.ts";
import {
  onOneServer,
  openQueue,
  ROOT,
  redisUrl,
  runProcess,
  testPrefix,
  testShards,
  until,
} from "./helpers.ts";

const COURIER = join(ROOT, "dist", "courier");
// No Bun here: the executable must carry its runtime, and run itself as its workers.
const PATH = "/usr/bin:/bin";
const cleanups: (() => unknown)[] = [];
// `once`: in the first pass only. The cluster pass runs the tests whose executable reaches the
// preload's Redis (trigger, worker --tasks); the others answer before any Redis (--help,
// --version, the command list) or run a redis-server of their own (stack): the same there.
const once = test.skipIf(!onOneServer);

beforeAll(async () => {
  const build = await runProcess(["bun", "run", "build"]);
  expect(build.stderr).not.toContain("error");
  expect(build).toMatchObject({ code: 0 });
  expect(build.stdout).toContain("built dist/courier");
  // Every command the executable has, `schedule` too (the line once listed them by hand).
  expect(build.stdout).toContain(
    "courier trigger|result|cancel|worker|info|dead|queue|schedule|dashboard|stack\n",
  );
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

once("bun run build writes one executable, not one per command", () => {
  expect(existsSync(COURIER)).toBe(true);
  for (const old of ["trigger", "worker", "stack"]) {
    expect(existsSync(join(ROOT, "dist", old))).toBe(false);
  }
});

test("courier trigger enqueues a job without Bun or the sources", async () => {
  const prefix = testPrefix();
  const run = await runProcess(
    [COURIER, "trigger", "--url", "www.example.org", "--prefix", prefix],
    {
      cwd: "/",
      env: { PATH, REDIS_URL: redisUrl(), COURIER_SHARDS: String(testShards() ?? 1) },
    },
  );
  expect(run).toMatchObject({ code: 0, stderr: "" });
  await using q = await openQueue({ prefix });
  expect(await q.getJob(run.stdout.trim())).toMatchObject({
    task: "wordcount",
    status: "queued",
    payload: { url: "https://www.example.org/" },
  });
}, 30_000);

once("courier with no command or an unknown one: the list of commands, exit 2", async () => {
  for (const args of [[], ["nope"]]) {
    const run = await runProcess([COURIER, ...args], { cwd: "/", env: { PATH } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^courier: (no command given|unknown command "nope")\n/);
    expect(run.stderr).toContain("  stack      Run Redis, workers and the dashboard");
  }
});

once("courier --help: one written summary per command, none cut inside a bracket", async () => {
  const run = await runProcess([COURIER, "--help"], { cwd: "/", env: { PATH } });
  expect(run).toMatchObject({ code: 0, stderr: "" });
  const lines = run.stdout.split("\n").filter((line) => /^ {2}\w/.test(line));
  const names = [
    "trigger",
    "result",
    "cancel",
    "worker",
    "info",
    "dead",
    "queue",
    "schedule",
    "dashboard",
    "stack",
  ];
  expect(lines.map((line) => line.trim().split(" ")[0])).toEqual(names);
  for (const line of lines) {
    expect(line.split("(").length).toBe(line.split(")").length);
    expect(line.length).toBeLessThanOrEqual(100);
  }
  expect(run.stdout).toContain("  info       Show Redis' memory, each queue's counts");
});

once(
  "courier --version prints the version in package.json; a command's --help names courier",
  async () => {
    const version = await runProcess([COURIER, "--version"], { cwd: "/", env: { PATH } });
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
    const help = await runProcess([COURIER, "trigger", "--help"], { cwd: "/", env: { PATH } });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("USAGE courier trigger [OPTIONS]");
    const queue = await runProcess([COURIER, "queue", "jobs", "--help"], {
      cwd: "/",
      env: { PATH },
    });
    expect(queue.code).toBe(0);
    expect(queue.stdout).toContain("USAGE courier queue jobs [OPTIONS] <NAME>");
  },
);

once(
  "courier stack runs its workers from another directory: trigger, result, Ctrl-C drains",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "courier-built-stack-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const page = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () =>
        new Response("<html><body><p>one two three four</p></body></html>", {
          headers: { "content-type": "text/html" },
        }),
    });
    cleanups.push(() => page.stop(true));
    const [port, prefix] = [await findFreePort(), testPrefix()];
    const env = { PATH, COURIER_DASHBOARD_PORT: String(await findFreePort()) };
    const stack = Bun.spawn(
      [COURIER, "stack", "--redis-port", String(port), "--workers", "1", "--allow-private"].concat([
        "--prefix",
        prefix,
      ]),
      { cwd: dir, env, stdout: "pipe", stderr: "pipe" },
    );
    cleanups.push(() => stack.kill("SIGKILL"));
    const [out, errors] = [collect(stack.stdout), collect(stack.stderr)];
    const ready = () => /worker\.1 +\| .*worker started/.test(out.text);
    await until(ready, "the worker", 20_000).catch((err: Error) => {
      throw new Error(`${err.message}; the output so far:\n${out.text}${errors.text}`);
    });
    expect(out.text).toContain(`data in ${join(dir, ".data/redis")}`);
    expect(out.text).toContain(`${COURIER} trigger --url https://example.org/`);

    const flags = ["--redis-url", `redis://127.0.0.1:${port}`, "--prefix", prefix];
    const url = `http://127.0.0.1:${page.port}/`;
    const trigger = await runProcess([COURIER, "trigger", "--url", url, ...flags], {
      cwd: dir,
      env,
    });
    expect(trigger).toMatchObject({ code: 0, stderr: "" });
    const id = trigger.stdout.trim();
    const result = await runProcess(
      [COURIER, "result", "--jobid", id, "--json", "--wait", "30", ...flags],
      { cwd: dir, env },
    );
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(result.stdout)).toMatchObject({
      id,
      status: "finished",
      result: { words: 4 },
    });

    stack.kill("SIGINT");
    expect(await exitCodeWithin(stack, 30_000, out)).toBe(0);
    expect(out.text).toContain("worker.1 stopped (code 0)");
    expect(out.text).toContain("redis stopped (code 0)");
    expect(out.text).not.toContain("SIGKILL");
  },
  60_000,
);

test("courier worker --tasks loads a user's modules (JavaScript and TypeScript) from disk", async () => {
  const dir = mkdtempSync(join(tmpdir(), "courier-built-tasks-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "tasks.js"), USER_TASKS);
  writeFileSync(
    join(dir, "half.ts"),
    "export const half = { name: 'half', run: async (p: number) => p / 2 };\n",
  );
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, maxAttempts: 1 });
  const ids = [await q.enqueue("shout", { text: "built" }), await q.enqueue("half", 3)];
  const env = { PATH, REDIS_URL: redisUrl(), COURIER_SHARDS: String(testShards() ?? 1) };
  const args = ["--tasks", "./tasks.js", "--tasks", join(dir, "half.ts"), "--burst"];
  const run = await runProcess([COURIER, "worker", ...args, "--prefix", prefix], { cwd: dir, env });
  expect(run).toMatchObject({ code: 0, stderr: "" });
  const { ended } = await q.waitForJobs(ids, { timeoutMs: 10_000 });
  expect(ended.get(ids[0]!)).toMatchObject({ status: "finished", result: { text: "BUILT" } });
  expect(ended.get(ids[1]!)).toMatchObject({ status: "finished", result: 1.5 });
  const missing = await runProcess([COURIER, "worker", "--tasks", "nope.js"], { cwd: dir, env });
  expect(missing.code).toBe(2);
  expect(missing.stderr).toStartWith("courier: --tasks nope.js: no such file");
}, 30_000);
