// `trigger … >&-`: a standard output closed before it started is told as a closed pipe is
// (the ids cannot be shown: how far it got, exit 141), not written to the /dev/null the
// runtime opens in its place (lib/cli/closed-stdout.ts).
import { expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stdoutClosedAtStart } from "../lib/cli/closed-stdout.ts";
import { openQueue, ROOT, redisUrl, testPrefix, testShards } from "./helpers.ts";

/** Runs `bun bin/<name>.ts …args` from a shell with stdout redirected as `redirect` says. */
async function cli(name: string, redirect: string, args: string[], stdin = "") {
  const proc = Bun.spawn({
    cmd: [
      "sh",
      "-c",
      `exec "$@" ${redirect}`,
      "sh",
      process.execPath,
      resolve(ROOT, `bin/${name}.ts`),
      ...args,
    ],
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL: redisUrl(),
      ...(testShards() === undefined ? {} : { COURIER_SHARDS: String(testShards()) }),
    },
    stdin: new TextEncoder().encode(stdin),
    stdout: "ignore",
    stderr: "pipe",
  });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  return { code, stderr };
}

const trigger = (redirect: string, args: string[], stdin = "") =>
  cli("trigger", redirect, args, stdin);

const closedLine = (n: number) =>
  `trigger: standard output closed; lines up to ${n} enqueued (${n} jobs, not every id printed), later lines not read; to resume, run again with --skip ${n}\n`;

// One job: no lines to resume from. It said "run again with --skip 1", which `--url` refuses
// (--skip goes with --file, R-192).
test("one job, stdout closed: said as for a closed pipe, no --skip, exit 141", async () => {
  const r = await trigger(">&-", ["--prefix", testPrefix(), "--url", "https://e.org/a"]);
  expect(r.stderr).toBe(
    "trigger: standard output closed; the job was enqueued, its id not printed (queue jobs --state waiting lists it)\n",
  );
  expect(r.code).toBe(141);
});

test("lines from stdin, stdout closed: how far it got, exit 141", async () => {
  const r = await trigger(">&-", ["--prefix", testPrefix(), "--file", "-"], "a.org\nb.org\n");
  expect(r.stderr).toBe(closedLine(2));
  expect(r.code).toBe(141);
});

test("stdout to /dev/null is not closed: the ids go there, exit 0", async () => {
  const r = await trigger(">/dev/null", ["--prefix", testPrefix(), "--url", "https://e.org/a"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
});

test.each([
  ["opened by the runtime (close-on-exec)", "pos:\t0\nflags:\t02100002\nmnt_id:\t25\n", true],
  ["inherited, > file", "pos:\t0\nflags:\t0100001\nmnt_id:\t25\n", false],
  ["inherited, a pipe", "pos:\t0\nflags:\t01\nmnt_id:\t14\n", false],
  ["no flags line", "pos:\t0\n", false],
])("stdoutClosedAtStart: %s", (_, fdinfo, closed) => {
  const path = join(tmpdir(), `courier-fdinfo-${testPrefix()}`);
  writeFileSync(path, fdinfo);
  try {
    expect(stdoutClosedAtStart(path)).toBe(closed);
  } finally {
    rmSync(path);
  }
});

test("stdoutClosedAtStart: no /proc to ask is taken as open", () => {
  expect(stdoutClosedAtStart(join(tmpdir(), `courier-no-such-${testPrefix()}`))).toBe(false);
});

// Every other command whose output is its answer: it went to the runtime's stand-in /dev/null,
// `result` exiting 3 and `cancel` 0 having shown nothing. Said as a closed pipe is, exit 141.
test.each([
  ["result", (id: string) => [id]],
  ["result", (id: string) => ["--json", id]],
  ["cancel", (id: string) => [id]],
  ["info", () => ["--json"]],
  ["info", () => ["--watch"]], // it ended as on Ctrl-C, exit 0, having shown nothing
  ["dead", () => ["list"]],
  ["queue", () => ["jobs", "default", "--state", "waiting"]],
  ["schedule", () => ["list"]],
  ["queue", () => ["events", "default"]], // it waited for an event before it found out
] as const)("%s, stdout closed: one line, exit 141", async (name, args) => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const id = await q.enqueue("t", null);
  const r = await cli(name, ">&-", ["--prefix", prefix, ...args(id)]);
  expect(r.stderr).toBe(`${name}: standard output closed; stopped there\n`);
  expect(r.code).toBe(141);
});

// A worker's output is its log: with it closed it works on, its lines going nowhere.
test("worker --burst, stdout closed: runs its jobs, exit 0", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const id = await q.enqueue("wordcount-summary", { jobs: [] });
  const r = await cli("worker", ">&-", ["--prefix", prefix, "--burst"]);
  expect(r).toEqual({ code: 0, stderr: "" });
  expect((await q.getJob(id))?.status).not.toBe("queued");
});
