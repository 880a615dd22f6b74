// A password in the bench's Redis URL stays off its children's command lines (anyone on the
// machine reads those with `ps`), as it does off a stack's (tests/stack.secrets.test.ts): every
// worker process the bench and the chaos run start gets the URL in REDIS_URL (bench/_proc.ts
// urlEnv), which only its user can read (/proc/<pid>/environ), and connects with it. The
// processes that run to their end (`trigger --file`, the contenders' enqueue scripts) take it
// the same way, and no script under bench/ or scripts/ names --redis-url any more.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnProc, urlEnv } from "../bench/_proc.ts";
import { WorkerPool } from "../bench/chaos/workers.ts";
import { courier } from "../bench/contenders/courier.ts";
import { rq } from "../bench/contenders/rq.ts";
import type { WorkerSpec } from "../bench/contenders/types.ts";
import { startWorkers } from "../bench/workloads/_common.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import { ROOT, testPrefix, until } from "./helpers.ts";

const PASSWORD = "S3cretPW-bench";
const dataDir = mkdtempSync(join(tmpdir(), "courier-bench-secret-"));
let server: RedisServer;
let url: string;
let admin: Redis;

beforeAll(async () => {
  server = await startRedisServer({ port: await findFreePort(), dataDir, persistence: false });
  admin = await connect(server.url);
  await admin.sendCommand(["CONFIG", "SET", "requirepass", PASSWORD]);
  url = `redis://:${PASSWORD}@127.0.0.1:${server.port}`;
});

afterAll(async () => {
  admin.destroy();
  await server.stop(2_000);
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * Process `pid`, running `script` (read once it said it runs: before its exec, /proc shows the
 * parent's or nothing), has no password on its command line, and the URL in its REDIS_URL.
 */
function expectUrlInEnvOnly(pid: number, script: string): void {
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  expect(argv.join(" ")).toContain(script);
  expect(argv.join(" ")).not.toContain(PASSWORD);
  const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
  expect(environ).toContain(`REDIS_URL=${url}`);
}

test("a contender's worker process (bench/worker-proc.ts): its spec on the command line, its URL in REDIS_URL", async () => {
  const spec: WorkerSpec = {
    url,
    queue: `q-${testPrefix()}`,
    concurrency: 1,
    task: "noop",
    notify: false,
  };
  const { procs, go } = await startWorkers(courier, spec, 1);
  const proc = procs[0]!;
  try {
    expectUrlInEnvOnly(proc.pid, "bench/worker-proc.ts courier {");
    go();
    await proc.waitFor(/^started$/); // connected, with the password it was given
  } finally {
    await proc.stop(5_000);
  }
}, 30_000);

test("chaos' worker processes (bin/worker.ts) get the URL in REDIS_URL, and connect", async () => {
  const prefix = testPrefix();
  const pool = new WorkerPool({
    ...{ redisUrl: url, prefix, size: 1, claimIdleMs: 2_000, concurrency: 1, shards: 1 },
  });
  pool.fill();
  try {
    // Its queue's keys written: it connected with the URL from its environment.
    const keys = () => admin.sendCommand<string[]>(["KEYS", `${prefix}:*`]);
    await until(async () => (await keys()).length > 0, "the chaos worker connected");
    for (const pid of pool.pids) expectUrlInEnvOnly(pid, "bin/worker.ts --prefix");
  } finally {
    await pool.stop(5_000);
  }
}, 30_000);

test.each([
  ["bench/chaos/noop-worker.ts", ["t", "60", "1"]],
  ["bench/cluster-worker.ts", ["t", "q", "1"]],
])(
  "%s takes the URL from REDIS_URL, not its arguments, and connects",
  async (script, args) => {
    const proc = spawnProc([process.execPath, join(ROOT, script), ...args], urlEnv(url));
    try {
      await proc.waitFor(/^ready$/); // printed once its worker started: connected
      expectUrlInEnvOnly(proc.pid, `${script} ${args.join(" ")}`);
    } finally {
      process.kill(proc.pid, "SIGTERM"); // the no-op worker's way to stop; the other's is "stop"
      await proc.stop(5_000);
    }
  },
  30_000,
);

test("a bench child started without REDIS_URL says so and exits 2", async () => {
  const { REDIS_URL: _, ...env } = process.env;
  const proc = Bun.spawn({
    cmd: [process.execPath, join(ROOT, "bench/worker-proc.ts"), "courier", "{}"],
    env,
    stderr: "pipe",
  });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  expect(stderr).toStartWith("REDIS_URL is not set (the Redis URL comes in the environment)\n");
  expect(code).toBe(2);
});

test("rq's worker gets the URL in RQ_REDIS_URL, which its --url reads", () => {
  const spec: WorkerSpec = { url, queue: "q", concurrency: 1, task: "wordcount", notify: false };
  const cmd = rq.workerCommand(spec);
  expect(cmd.cmd.join(" ")).not.toContain(PASSWORD);
  expect(cmd.env).toEqual({ RQ_REDIS_URL: url });
});

test("no script under bench/ or scripts/ puts a Redis URL on a command line with --redis-url", () => {
  const sources = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
      .filter((f) => /\.(ts|py)$/.test(f) && !f.startsWith("results"))
      .map((f) => join(dir, f));
  const naming = [...sources("bench"), ...sources("scripts")].filter((f) =>
    /["'`]--(redis-)?url["'`]/.test(readFileSync(join(ROOT, f), "utf8")),
  );
  expect(naming).toEqual([]);
});
