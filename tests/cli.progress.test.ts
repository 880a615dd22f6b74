// A job's progress on the command line: `result` shows it while the job runs (text and
// --json), and `result --wait` draws each new value on a terminal (a pty of `script`), while a
// pipe gets no progress lines.
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { collect, exitCodeWithin, waitFor } from "./fixtures/output.ts";
import { progressShown, stepper } from "./fixtures/progress-steps.ts";
import {
  clientList,
  openQueue,
  ROOT,
  rawRedis,
  redisUrl,
  runCli,
  startWorker,
  testPrefix,
  testShards,
  until,
} from "./helpers.ts";

/** `bun bin/<name>.ts …args` on a pseudo-terminal (`script`): stdout and stderr as one. */
function onTerminal(name: string, args: string[]) {
  const argv = [process.execPath, resolve(ROOT, "bin", `${name}.ts`), ...args];
  const command = `exec ${argv.map((a) => `'${a}'`).join(" ")}`;
  const env: Record<string, string> = { ...process.env, REDIS_URL: redisUrl() } as never;
  if (testShards() !== undefined) env.COURIER_SHARDS = String(testShards());
  const proc = Bun.spawn(["script", "-qfec", command, "/dev/null"], {
    env,
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  return { proc, out: collect(proc.stdout) };
}

describe("result and progress", () => {
  test("result shows a running job's progress (text and --json), and none once it ended", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const { task, next } = stepper([42, { stage: "upload", files: 3 }]);
    const w = await startWorker({ prefix, tasks: [task], progressMinIntervalMs: 1 });
    const id = await q.enqueue("steps", null);
    await progressShown(q, id, 42);
    const text = await runCli("result", [id, "--prefix", prefix]);
    expect(text.code).toBe(3); // not finished yet
    expect(text.stdout).toMatch(/^progress: +42%$/m);
    next();
    await progressShown(q, id, { stage: "upload", files: 3 });
    const json = await runCli("result", [id, "--json", "--prefix", prefix]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      status: "started",
      progress: { stage: "upload", files: 3 },
    });
    next();
    await q.waitForJobs([id], { timeoutMs: 10_000 });
    const ended = await runCli("result", [id, "--json", "--prefix", prefix]);
    expect(JSON.parse(ended.stdout)).toMatchObject({ status: "finished", progress: null });
    expect((await runCli("result", [id, "--prefix", prefix])).stdout).not.toContain("progress");
    await w.stop();
  }, 30_000);

  test("result --wait on a terminal draws each progress, then the job", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const { task, next } = stepper([10, { step: "two" }, 90]);
    const w = await startWorker({ prefix, tasks: [task], progressMinIntervalMs: 1 });
    const id = await q.enqueue("steps", null);
    await progressShown(q, id, 10);
    const { proc, out } = onTerminal("result", [id, "--wait", "20", "--prefix", prefix]);
    try {
      await waitFor(out, /progress: 10%/, 10_000);
      next();
      await waitFor(out, /progress: step=two/, 10_000);
      next();
      await waitFor(out, /progress: 90%/, 10_000);
      next();
      expect(await exitCodeWithin(proc, 10_000, out)).toBe(0);
    } finally {
      proc.kill("SIGKILL");
    }
    // Redrawn in place: each value over the last, then the job's block on a line of its own.
    expect(out.text).toContain("\rprogress: 10%\x1b[K\rprogress: step=two\x1b[K\rprogress: 90%");
    expect(out.text).toMatch(/progress: 90%\x1b\[K\r?\n(.|\r?\n)*status: +finished/);
    await w.stop();
  }, 30_000);

  test("result --wait into a pipe prints no progress, only the job", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const { task, next } = stepper([50, 60]);
    const w = await startWorker({ prefix, tasks: [task], progressMinIntervalMs: 1 });
    const id = await q.enqueue("steps", null);
    await progressShown(q, id, 50);
    const waiting = runCli("result", [id, "--wait", "20", "--prefix", prefix]);
    // Once the waiter blocks on the events (its read shows in CLIENT LIST), a new progress
    // reaches it as an event, as on a terminal; then the job ends.
    await until(async () => /cmd=xread /.test(await clientList(r)), "the waiter's blocking read");
    next();
    await progressShown(q, id, 60);
    next();
    const run = await waiting;
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain("status:");
    expect(run.stdout).not.toContain("progress");
    await w.stop();
  }, 30_000);

  test("trigger --wait of one job on a terminal draws its progress too", async () => {
    const prefix = testPrefix();
    const { task: steps, next } = stepper([25, 75]);
    // The built-in task's name, so `trigger --url` enqueues a job this task runs.
    const task = { ...steps, name: "wordcount" };
    const w = await startWorker({ prefix, tasks: [task], progressMinIntervalMs: 1 });
    const { proc, out } = onTerminal("trigger", [
      "--url",
      "example.org",
      "--wait",
      "20",
      "--prefix",
      prefix,
    ]);
    try {
      await waitFor(out, /progress: 25%/, 10_000);
      next();
      await waitFor(out, /progress: 75%/, 10_000);
      next();
      expect(await exitCodeWithin(proc, 10_000, out)).toBe(0);
    } finally {
      proc.kill("SIGKILL");
    }
    expect(out.text).toMatch(/progress: 75%\x1b\[K\r?\n(.|\r?\n)*status: +finished/);
    await w.stop();
  }, 30_000);
});
