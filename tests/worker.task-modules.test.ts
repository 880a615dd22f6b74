// `worker --tasks FILE`: a user's task module, in a directory of its own, loaded by the CLI
// worker by a path relative to the current directory, next to the built-in word count; and the
// one-line errors for modules it cannot use.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadTaskModules } from "../lib/cli/task-modules.ts";
import { USER_TASKS } from "./fixtures/user-tasks.ts";
import {
  onOneServer,
  openQueue,
  ROOT,
  redisUrl,
  runCli,
  runProcess,
  testPrefix,
  testShards,
  until,
} from "./helpers.ts";

let dir = "";

const MODULES: Record<string, string> = {
  "tasks.js": USER_TASKS,
  "more.ts": `export default { half: { name: "half", run: async (p: number) => p / 2 } };`,
  "none.ts": "export const x = 1;\nexport default 'hello';\n",
  "empty.ts": "export const x = 1;\n",
  "broken.ts": "export const = ;\n",
  "twice.ts": `export const a = { name: "same", run: async () => 1 };\nexport const b = { name: "same", run: async () => 2 };\n`,
  "wc.ts": `export default { name: "wordcount", run: async () => 0 };\n`,
  "holes.ts": `export default [{ name: "ok", run: async () => 1 }, { name: "no run" }];\n`,
  // Values String() cannot print, and exports that throw when read (R-192: a stack trace, exit 70).
  "throws.ts": "throw Object.create(null);\n",
  "getter.ts": `export default { get name() { throw Object.create(null); }, run: async () => 1 };\n`,
  "proxy.ts": `export default new Proxy({}, { ownKeys() { throw new Error("no keys"); } });\n`,
  // Errors thrown outside the task's promise: from a timer it set, and a rejection it left.
  "strays.ts": [
    "const wait = (ms) => new Promise((r) => setTimeout(r, ms));",
    "export const timer = { name: 'timer', async run() {",
    "  setTimeout(() => { throw new Error('\\u001b]0;title\\u0007\\u001b[2Jfrom a timer'); }, 5);",
    "  await wait(200); return 'timer ok'; } };",
    "export const loose = { name: 'loose', async run() {",
    "  Promise.reject(new Error('left unhandled \\u001b[31m')); await wait(200); return 'loose ok'; } };",
  ].join("\n"),
  // A task that ends the worker's process, as if it were done.
  "exits.ts": "export default { name: 'quit', async run() { process.exit(0); } };\n",
  "exits3.ts": "export default { name: 'quit3', async run() { process.exit(3); } };\n",
  // A top-level await that never settles (a connection the module waits for that never comes).
  "hangs.ts":
    "await new Promise(() => {});\nexport default { name: 'late', run: async () => 1 };\n",
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "courier-tasks-"));
  for (const [name, text] of Object.entries(MODULES)) writeFileSync(join(dir, name), text);
  mkdirSync(join(dir, "folder.ts")); // a directory given as the module: said so, not "no such file"
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `bun bin/worker.ts …args` run in the modules' directory, to its end. */
function worker(args: string[]) {
  return runProcess([process.execPath, resolve(ROOT, "bin", "worker.ts"), ...args], {
    cwd: dir,
    env: {
      ...process.env,
      REDIS_URL: redisUrl(),
      ...(testShards() === undefined ? {} : { COURIER_SHARDS: String(testShards()) }),
    },
  });
}

describe("worker --tasks", () => {
  test("a module still loading past the bound (a top-level await unsettled) is said once, and waited for", async () => {
    const said: string[] = [];
    const slow = { afterMs: 50, say: (line: string) => said.push(line) };
    const path = join(dir, "hangs.ts");
    let settled = false;
    void loadTaskModules([path], [], slow).finally(() => (settled = true));
    await until(() => said.length > 0, "the line saying the module is still loading");
    expect(said).toEqual([
      `worker: --tasks ${path} has not finished loading after 0.05 s (a top-level await that does not settle?); still waiting`,
    ]);
    expect(settled).toBe(false);
    // A module that loads in time is not said, not even once its bound has passed.
    const quick: string[] = [];
    const loaded = await loadTaskModules([join(dir, "more.ts")], [], {
      afterMs: 30,
      say: (line) => quick.push(line),
    });
    expect(loaded.map((t) => t.name)).toEqual(["half"]);
    await Bun.sleep(100); // past the bound: a timer left running would have said it by now
    expect(quick).toEqual([]);
  });

  test("end to end through the CLIs: trigger --task, worker --tasks, result", async () => {
    const prefix = testPrefix();
    const env = testShards() === undefined ? {} : { env: { COURIER_SHARDS: String(testShards()) } };
    const args = ["--prefix", prefix, "--redis-url", redisUrl()];
    const t = await runCli(
      "trigger",
      [...args, "--task", "shout", "--payload", '{"text":"hi"}'],
      env,
    );
    expect(t).toMatchObject({ code: 0, stderr: "" });
    const id = t.stdout.trim();
    const run = await worker(["--tasks", "./tasks.js", "--burst", "--prefix", prefix]);
    expect(run.code).toBe(0);
    const r = await runCli("result", [...args, "--jobid", id, "--json"]);
    expect(r.code).toBe(0);
    const job = JSON.parse(r.stdout);
    expect(job).toMatchObject({ id, task: "shout", status: "finished", result: { text: "HI" } });
  });

  test("runs the tasks of the modules given, relative to the current directory, and the word count stays", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    const ids = {
      shout: await q.enqueue("shout", { text: "hi" }),
      double: await q.enqueue("double", 21),
      half: await q.enqueue("half", 9),
      refuse: await q.enqueue("refuse", null, { maxAttempts: 3 }),
    };
    const run = await worker([
      ...["--tasks", "./tasks.js", "--tasks=more.ts", "--burst", "--prefix", prefix],
      ...["--log-format", "json"],
    ]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const { ended } = await q.waitForJobs(Object.values(ids), { timeoutMs: 10_000 });
    expect(ended.get(ids.shout)).toMatchObject({
      status: "finished",
      result: { text: "HI", id: ids.shout, attempt: 1 },
    });
    expect(ended.get(ids.double)).toMatchObject({ status: "finished", result: 42 });
    expect(ended.get(ids.half)).toMatchObject({ status: "finished", result: 4.5 });
    // An error with code EPERMANENT fails the job for good, as a PermanentError does.
    expect(ended.get(ids.refuse)).toMatchObject({
      status: "failed",
      attempts: 1,
      error: "not this one",
    });
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const started = lines.find((l) => l.event === "worker started");
    const names = ["double", "half", "refuse", "shout", "wordcount", "wordcount-summary"];
    expect(started.tasks.split(",").sort()).toEqual(names);
    expect(lines).toContainEqual(
      expect.objectContaining({ event: "shouting", text: "hi", job: ids.shout, task: "shout" }),
    );
  }, 30_000);

  // Bun printed such an error raw on stderr, a source excerpt and a stack trace with it, its
  // control characters reaching the terminal; and the worker went on only because the CLI
  // awaits at the top level. One log line now, escaped as every line; the jobs finish.
  test("an error a task throws from a timer, or a rejection it leaves: one log line, jobs go on", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    const ids = [await q.enqueue("timer", null), await q.enqueue("loose", null)];
    const run = await worker([
      ...["--tasks", "./strays.ts", "--burst", "--prefix", prefix, "--log-format", "json"],
    ]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const { ended } = await q.waitForJobs(ids, { timeoutMs: 10_000 });
    expect(ids.map((id) => ended.get(id)?.result)).toEqual(["timer ok", "loose ok"]);
    expect(run.stdout).not.toContain("\u001b");
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const stray = lines.filter((l) => l.event === "uncaught error; the worker goes on");
    expect(stray.map((l) => [l.level, l.error]).sort()).toEqual([
      ["error", "\u001b]0;title\u0007\u001b[2Jfrom a timer"],
      ["error", "left unhandled \u001b[31m"],
    ]);
  }, 30_000);

  // Exit 0 told a supervisor that restarts on failure only that the worker ended well, its job
  // still started (claimed by another worker only after the claim timeout).
  test("a task that calls process.exit(0): exit 70 and one line saying why", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    const id = await q.enqueue("quit", null);
    const run = await worker([
      ...["--tasks", "./exits.ts", "--burst", "--prefix", prefix, "--log-format", "json"],
    ]);
    expect(run.code).toBe(70);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ level: "error" });
    expect(lines.at(-1).event).toStartWith("the process is exiting while the worker runs");
    expect((await q.getJob(id))?.status).toBe("started");
  }, 30_000);

  // A code of its own is kept (a supervisor sees a failure), but nothing said why the worker
  // ended: its log stopped mid-run.
  test("a task that calls process.exit(3): exit 3 and one line saying why", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    const id = await q.enqueue("quit3", null);
    const run = await worker([
      ...["--tasks", "./exits3.ts", "--burst", "--prefix", prefix, "--log-format", "json"],
    ]);
    expect(run.code).toBe(3);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ level: "error", code: 3 });
    expect(lines.at(-1).event).toStartWith("the process is exiting while the worker runs");
    expect((await q.getJob(id))?.status).toBe("started");
  }, 30_000);

  // Refused before Redis is reached (the modules load first): nothing a cluster changes, so
  // not in the cluster pass.
  test.skipIf(!onOneServer).each([
    ["missing.ts", `--tasks missing.ts: no such file (looked for ${"<dir>"}/missing.ts)`],
    [
      "folder.ts",
      `--tasks folder.ts: it is a directory, not a file (looked for ${"<dir>"}/folder.ts)`,
    ],
    ["broken.ts", "--tasks broken.ts: could not load it as a module: "],
    [
      "empty.ts",
      "--tasks empty.ts: exports no task (export a task { name, run }, or a default array or object of tasks)",
    ],
    [
      "none.ts",
      "--tasks none.ts: its default export is not a task, nor an array or object of tasks (got string)",
    ],
    [
      "holes.ts",
      "--tasks holes.ts: default export [1] is not a task (an object with a name and a run function)",
    ],
    ["twice.ts", '--tasks twice.ts: exports two tasks named "same"'],
    [
      "throws.ts",
      "--tasks throws.ts: could not load it as a module: a thrown value that cannot be printed",
    ],
    [
      "getter.ts",
      "--tasks getter.ts: could not read its exports: a thrown value that cannot be printed",
    ],
    ["proxy.ts", "--tasks proxy.ts: could not read its exports: no keys"],
    ["wc.ts", '--tasks wc.ts: a task named "wordcount" is already in the built-in tasks'],
  ])("%s: one line, exit 2", async (file, message) => {
    const run = await worker(["--tasks", file, "--burst", "--prefix", testPrefix()]);
    expect(run.code).toBe(2);
    const [first, ...rest] = run.stderr.trimEnd().split("\n");
    expect(first).toStartWith(`worker: ${message.replace("<dir>", dir)}`);
    expect(rest).toEqual(["Run with --help to see the options."]);
  });

  // Refused before Redis is reached: not in the cluster pass.
  test.skipIf(!onOneServer)(
    "a task name in two modules: the second is refused, naming the first",
    async () => {
      const run = await worker([
        "--tasks",
        "tasks.js",
        "--tasks",
        "./tasks.js",
        "--prefix",
        testPrefix(),
      ]);
      expect(run.code).toBe(2);
      expect(run.stderr).toStartWith(
        'worker: --tasks ./tasks.js: a task named "double" is already in tasks.js\n',
      );
    },
  );
});
