#!/usr/bin/env bun
// `bun run check`: format/lint, typecheck, every test, then the cluster pass (the tests that use
// Redis again, on a local Redis Cluster with 6-shard queues: scripts/cluster-pass.ts); ends with
// `N passed, N failed` over both passes. Each step's output is shown as it runs; the exit code
// is non-zero if any step failed, or if the cluster pass printed `CROSSSLOT` anywhere (a test's
// output, or the nodes' own count of error replies printed last: scripts/_test-servers.ts, or
// tests/preload.ts when the tests run one file at a time).
import { resolve } from "node:path";
import { FAILURES_SHOWN_MAX, FailedTests } from "./_failed-tests.ts";
import { buildTestClis, type TestClis } from "./_test-clis.ts";
import { startTestServers, type TestServers } from "./_test-servers.ts";
import { clusterPassFiles } from "./cluster-pass.ts";

interface Pass {
  name: string;
  passed: number;
  failed: number;
  code: number;
  crossSlot: number;
  /** The `(fail)` lines bun printed, each once with its file (repeated at the end: a cut log keeps its tail). */
  failures: string[];
}

// Several files at a time: four in the first pass, three in the cluster pass
// (COURIER_TEST_PARALLEL=N for N in both, 1 for one at a time). Most of a file's time is spent
// waiting on Redis, a subprocess, a tick or a rate's interval, so more files than cores share 2
// cores well. Since the CLIs the tests start are compiled (scripts/_test-clis.ts: a fifth of the
// CPU a start from source took), a fourth file gained a sixth of the first pass (164 -> 142 s) and
// a third file a sixth of the cluster pass (133 -> 109 s), where a third had gained nothing
// before. Each of bun's worker processes has its own redis-server (or cluster), started here
// (scripts/_test-servers.ts), and runs its files one at a time against it (--no-isolate: one
// module registry per worker, as a single `bun test` has). Each pass's own timings file (the
// files' durations in that pass: a file's time on a cluster is not its time on one server)
// makes the slowest start first, so no long file is left for the end;
// COURIER_TEST_UPDATE_TIMINGS=1 rewrites them with this run's.
const given = process.env.COURIER_TEST_PARALLEL;
const parallel = { tests: Number(given ?? "4"), cluster: Number(given ?? "3") };
if (!Number.isInteger(parallel.tests) || parallel.tests < 1) {
  process.stderr.write("check: COURIER_TEST_PARALLEL takes a whole number >= 1\n");
  process.exit(2);
}
const TIMINGS = { tests: "tests/timings.json", cluster: "tests/timings.cluster.json" };
const update = process.env.COURIER_TEST_UPDATE_TIMINGS === "1" ? ["--update-timings"] : [];
const runner = (workers: number, timings: string) =>
  workers === 1 ? [] : [`--parallel=${workers}`, "--no-isolate", `--timings=${timings}`, ...update];

/** The pass running now: a signal to this process stops its tests and its servers first. */
let running: { proc: { kill(): void }; servers: TestServers | null } | null = null;
/** The cluster pass's servers, started while the first pass runs (a signal stops them too). */
let early: Promise<TestServers> | null = null;
for (const [signal, number] of [
  ["SIGINT", 2],
  ["SIGTERM", 15],
  ["SIGHUP", 1],
] as const) {
  process.once(signal, () => {
    const pass = running;
    running = null;
    pass?.proc.kill();
    const later = early?.then((s) => s.halt()).catch(() => {});
    void Promise.all([pass?.servers?.halt(), later]).finally(() => process.exit(128 + number));
  });
}

// The CLIs the tests spawn, compiled while lint and typecheck run (scripts/_test-clis.ts): the
// folder (about 1 GB) goes on any exit, a signal's included (its handler above exits).
const root = resolve(import.meta.dir, "..");
const clis: TestClis = buildTestClis(root);
clis.ready.catch(() => {}); // handled where awaited, below; not an unhandled rejection meanwhile
process.on("exit", () => clis.remove());

const steps: [string, string[]][] = [
  ["lint", ["bunx", "biome", "check", "."]],
  ["typecheck", ["bunx", "tsc", "--noEmit", "-p", "."]],
];

let failed = false;
for (const [name, cmd] of steps) {
  process.stdout.write(`\n== ${name}: ${cmd.join(" ")}\n`);
  const code = await Bun.spawn({ cmd, stdout: "inherit", stderr: "inherit" }).exited;
  if (code !== 0) {
    process.stdout.write(`== ${name} failed (exit ${code})\n`);
    failed = true;
  }
}

/**
 * Runs `bun test` with `args`, showing its output as it comes; counts what it reports. Its
 * servers are `started` when given (begun earlier), else started here.
 */
async function testPass(
  name: string,
  args: string[],
  env: Record<string, string>,
  started?: Promise<TestServers> | null,
): Promise<Pass> {
  // Queue tests talk to a real Redis and real subprocesses: 30 s each, not bun's 5 s (bunfig.toml
  // cannot set this; bun only reads --timeout).
  const cluster = env.COURIER_TEST_CLUSTER === "1";
  const workers = parallel[cluster ? "cluster" : "tests"];
  const flags = [
    "bun",
    "test",
    "--timeout",
    "30000",
    ...runner(workers, TIMINGS[cluster ? "cluster" : "tests"]),
  ];
  const cmd = [...flags, ...args];
  const shown = args.length > 8 ? [...flags, `<${args.length} files>`] : cmd;
  const envText = Object.entries(env).map(([k, v]) => `${k}=${v} `);
  process.stdout.write(`\n== ${name}: ${envText.join("")}${shown.join(" ")}\n`);
  const since = performance.now();
  const servers = workers > 1 ? await (started ?? startTestServers(workers, cluster)) : null;
  const serversEnv = servers ? { COURIER_TEST_REDIS_URLS: servers.urls } : {};
  const proc = Bun.spawn({
    cmd,
    env: { ...process.env, ...env, ...serversEnv },
    stdout: "pipe",
    stderr: "pipe",
  });
  running = { proc, servers };
  let summary = "";
  let crossSlot = 0;
  const failed = [new FailedTests(), new FailedTests()];
  const pump = async (
    stream: ReadableStream<Uint8Array>,
    out: NodeJS.WriteStream,
    failures: FailedTests,
  ) => {
    const decoder = new TextDecoder();
    let tail = ""; // a word split across two chunks is still found
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      out.write(text);
      failures.feed(text);
      crossSlot += (tail + text).match(/CROSSSLOT/g)?.length ?? 0;
      crossSlot -= tail.match(/CROSSSLOT/g)?.length ?? 0;
      tail = text.slice(-16);
      summary = (summary + text).slice(-4_000); // bun prints its totals last
    }
  };
  let code: number;
  let errorsLine = "";
  try {
    await Promise.all([
      pump(proc.stdout, process.stdout, failed[0]!),
      pump(proc.stderr, process.stderr, failed[1]!),
    ]);
    code = await proc.exited;
  } finally {
    errorsLine = (await servers?.stop()) ?? "";
    running = null;
  }
  if (errorsLine) process.stderr.write(`${errorsLine}\n`);
  crossSlot += errorsLine.match(/CROSSSLOT/g)?.length ?? 0;
  const count = (word: string) =>
    Number(new RegExp(`^\\s*(\\d+) ${word}$`, "m").exec(summary)?.[1] ?? 0);
  const failures = failed.flatMap((f) => f.lines).slice(0, FAILURES_SHOWN_MAX);
  const pass = { name, passed: count("pass"), failed: count("fail"), code, crossSlot, failures };
  const secs = ((performance.now() - since) / 1_000).toFixed(0);
  process.stdout.write(`== ${name}: ${pass.passed} passed, ${pass.failed} failed in ${secs} s\n`);
  return pass;
}

// Arguments (files, filters) go to the first pass; the cluster pass then runs those of its own
// files named among them, or is skipped when none is.
const args = process.argv.slice(2);
const clusterFiles = clusterPassFiles(root);
const clusterArgs =
  args.length === 0
    ? clusterFiles
    : clusterFiles.filter((f) => args.some((a) => resolve(a) === resolve(root, f)));
// The cluster pass's clusters (a few seconds each, one after the other) start while the first
// pass runs, so that the cluster pass does not wait for them. Not awaited until then: a failure
// to start is the cluster pass's, reported there.
if (clusterArgs.length > 0 && parallel.cluster > 1) {
  early = startTestServers(parallel.cluster, true);
  early.catch(() => {}); // handled where awaited (testPass); not an unhandled rejection meanwhile
}
// A CLI that does not compile fails the check; the tests then spawn the sources.
const cliEnv: Record<string, string> = {};
try {
  await clis.ready;
  cliEnv.COURIER_TEST_CLI_DIR = clis.dir;
} catch (err) {
  process.stdout.write(`\n== test CLIs: ${err instanceof Error ? err.message : String(err)}\n`);
  failed = true;
}
const passes = [await testPass("tests", args, cliEnv)];
if (clusterArgs.length > 0) {
  const clusterEnv = { ...cliEnv, COURIER_TEST_CLUSTER: "1" };
  const cluster = await testPass("cluster pass", clusterArgs, clusterEnv, early);
  passes.push(cluster);
  if (cluster.crossSlot > 0) {
    process.stdout.write(`== cluster pass: CROSSSLOT appeared ${cluster.crossSlot} times\n`);
    failed = true;
  }
}
if (passes.some((p) => p.code !== 0)) failed = true;
const sum = (get: (p: Pass) => number) => passes.reduce((n, p) => n + get(p), 0);
for (const pass of passes.filter((p) => p.failures.length > 0)) {
  process.stdout.write(`\n== ${pass.name}: what failed\n${pass.failures.join("\n")}\n`);
}
process.stdout.write(`\n${sum((p) => p.passed)} passed, ${sum((p) => p.failed)} failed\n`);
process.exit(failed ? 1 : 0);
