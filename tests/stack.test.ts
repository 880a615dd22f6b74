// `bin/stack.ts` and its parts: argument checks (tables), a throwaway redis-server, the
// supervisor with stand-in children, and the whole stack run as a subprocess and stopped with
// SIGINT. Nothing here uses the preload's Redis; every process started is killed afterwards.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { ConfigError, ConnectError } from "../lib/errors.ts";
import { dataDirHolder, PIDFILE } from "../lib/stack/_data-dir.ts";
import { createOutput } from "../lib/stack/_output.ts";
import { isCompiled, ownCommand, shownCommand } from "../lib/stack/_self.ts";
import { childEnv, workerCmd } from "../lib/stack/_supervised.ts";
import { parseStackArgs, REPO_ROOT } from "../lib/stack/options.ts";
import {
  findFreePort,
  isPortFree,
  pingRedis,
  REDIS_NOT_INSTALLED,
  type RedisServer,
  startRedisServer,
} from "../lib/stack/redis-server.ts";
import { Supervisor } from "../lib/stack/supervisor.ts";
import { collect, exitCodeWithin, waitFor } from "./fixtures/output.ts";
import { until } from "./helpers.ts";

const dirs: string[] = [];
const pids = new Set<number>();
const cleanups: (() => unknown)[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "courier-stack-test-"));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL"); // detached children outlive a failed test otherwise
    } catch {}
  }
  pids.clear();
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("parseStackArgs", () => {
  const cwd = "/somewhere";
  test.each([
    [{}, { workers: 2, redisPort: 6379, redisUrl: undefined, concurrency: undefined }],
    [
      { workers: "3", "redis-port": "7000" },
      { workers: 3, redisPort: 7000 },
    ],
    [
      { concurrency: "4", "allow-private": true },
      { concurrency: 4, allowPrivate: true },
    ],
    [{ "redis-url": "redis://h:1" }, { redisUrl: "redis://h:1" }],
    [{ "data-dir": "d" }, { dataDir: "/somewhere/d" }],
    [{}, { prefix: "courier", queue: "default" }],
    [{ prefix: "app1" }, { prefix: "app1" }],
  ])("%j", (args, expected) => {
    expect(parseStackArgs(args, {}, cwd)).toMatchObject(expected);
  });

  test("defaults: data under the repo, REDIS_URL and COURIER_QUEUE from the environment", () => {
    const env = { REDIS_URL: "redis://x:1", COURIER_QUEUE: "q", COURIER_PREFIX: "p" };
    expect(parseStackArgs({}, env, cwd)).toMatchObject({
      dataDir: resolve(REPO_ROOT, ".data/redis"),
      redisUrl: "redis://x:1",
      queue: "q",
      prefix: "p",
    });
    // An explicit port means "start one here", whatever REDIS_URL says.
    expect(parseStackArgs({ "redis-port": "7001" }, env, cwd).redisUrl).toBeUndefined();
  });

  test.each([
    [{ workers: "abc" }, '--workers must be a whole number from 1 to 64, got "abc"'],
    [{ workers: "0" }, "--workers must be"],
    [{ workers: "2.5" }, "--workers must be"],
    [{ workers: "" }, "--workers needs one value"],
    [{ "redis-port": "65536" }, "--redis-port must be a whole number from 1 to 65535"],
    [{ concurrency: "-1" }, "--concurrency must be"],
    [{ "redis-url": "redis://x", "redis-port": "1" }, "not both"],
    [{ queue: "a b" }, 'queue name "a b"'],
    [{ prefix: "a b" }, 'key prefix "a b"'],
    [{ prefix: "" }, "--prefix needs one value"],
  ])("refuses %j", (args, message) => {
    expect(() => parseStackArgs(args, {}, cwd)).toThrow(ConfigError);
    expect(() => parseStackArgs(args, {}, cwd)).toThrow(message);
  });

  test.each([
    [{ "redis-url": "http://u:secret@x" }, {}, 'invalid Redis URL "http://u:***@x" in --redis-url'],
    [{}, { REDIS_URL: "localhost" }, 'invalid Redis URL "***" in REDIS_URL'],
  ])("refuses the URL in %j %j, password masked", (args, env, message) => {
    expect(() => parseStackArgs(args, env, cwd)).toThrow(ConfigError);
    expect(() => parseStackArgs(args, env, cwd)).toThrow(message);
  });

  // What the dashboard it starts would refuse (exit 2, restarted every 2 s): refused up front.
  test.each([
    [
      { COURIER_DASHBOARD_PORT: "abc" },
      'COURIER_DASHBOARD_PORT must be a whole number from 0 to 65535, got "abc"',
    ],
    [{ COURIER_DASHBOARD_PORT: "70000" }, "COURIER_DASHBOARD_PORT must be"],
    [{ COURIER_DASHBOARD_PORT: "9181 " }, "COURIER_DASHBOARD_PORT must be"],
    [{ COURIER_DASHBOARD_TOKEN: "shorttoken" }, "must be at least 16 characters, got 10"],
  ])("refuses the dashboard's %j", (env, message) => {
    expect(() => parseStackArgs({}, env, cwd)).toThrow(ConfigError);
    expect(() => parseStackArgs({}, env, cwd)).toThrow(message);
  });

  test("takes a dashboard port and token the dashboard takes", () => {
    const env = { COURIER_DASHBOARD_PORT: "9182", COURIER_DASHBOARD_TOKEN: "0123456789abcdef" };
    expect(() => parseStackArgs({}, env, cwd)).not.toThrow();
  });
});

test("workerCmd passes the worker its flags, never the Redis URL", () => {
  const options = {
    ...parseStackArgs({ prefix: "p1" }, {}, "/"),
    allowPrivate: true,
    concurrency: 3,
  };
  expect(workerCmd(options, 2).slice(1)).toEqual([
    join(REPO_ROOT, "bin/worker.ts"),
    ...["--queue", "default", "--prefix", "p1"],
    ...["--name", "stack-worker-2"],
    ...["--log-format", "human", "--allow-private", "--concurrency", "3"],
  ]);
});

test("childEnv: the stack's Redis URL in REDIS_URL, over the one inherited", () => {
  const parent = { PATH: "/bin", REDIS_URL: "redis://elsewhere:1" };
  expect(childEnv("redis://:pw@h:1", {}, parent)).toEqual({
    PATH: "/bin",
    REDIS_URL: "redis://:pw@h:1",
    COURIER_REDIS_URL_FROM: "stack",
  });
  expect(childEnv("redis+cluster://h:1", { COURIER_SHARDS: "3" }, parent)).toEqual({
    PATH: "/bin",
    REDIS_URL: "redis+cluster://h:1",
    COURIER_SHARDS: "3",
    COURIER_REDIS_URL_FROM: "stack",
  });
});

test.each([
  ["/$bunfs/root/courier", true],
  ["B:/~BUN/root/courier.exe", true],
  [join(REPO_ROOT, "bin/stack.ts"), false],
])("isCompiled(%j) is %j", (main, compiled) => {
  expect(isCompiled(main)).toBe(compiled);
});

test("the stack runs its own commands: itself when compiled, bin/ files from a checkout", () => {
  expect(ownCommand("worker", true)).toEqual([process.execPath, "worker"]);
  expect(ownCommand("dashboard", false)).toEqual([
    process.execPath,
    join(REPO_ROOT, "bin/dashboard.ts"),
  ]);
  expect(shownCommand("trigger", false)).toBe("bun bin/trigger.ts");
  expect(shownCommand("result", true, dirname(process.execPath))).toMatch(/^\.\/\S+ result$/);
  expect(shownCommand("result", true, "/")).toBe(`./${process.execPath.slice(1)} result`);
});

test("createOutput pads names so the bars line up, colours only when asked", () => {
  const lines: string[] = [];
  const plain = createOutput({
    names: ["system", "worker.1"],
    color: false,
    write: (t) => lines.push(t),
  });
  plain.line("system", "hi");
  plain.line("worker.1", "there");
  expect(lines).toEqual(["system   | hi\n", "worker.1 | there\n"]);
  createOutput({ names: ["a"], color: true, write: (t) => lines.push(t) }).line("a", "x");
  expect(lines[2]).toBe("\x1b[36ma |\x1b[0m x\n");
});

/** A redis-server on a free port in a fresh directory, stopped after the test. */
async function throwaway(persistence = false): Promise<[RedisServer, string]> {
  const dataDir = tempDir();
  const server = await startRedisServer({ port: await findFreePort(), dataDir, persistence });
  cleanups.push(() => server.stop(2_000));
  return [server, dataDir];
}

describe("redis-server", () => {
  test("starts with the AOF on, answers PING, stops and frees its port", async () => {
    const [server, dataDir] = await throwaway(true);
    expect(await pingRedis(server.port)).toBe(true);
    expect(await isPortFree(server.port)).toBe(false);
    expect(existsSync(join(dataDir, "appendonlydir"))).toBe(true);
    expect(await server.stop()).toBe(0);
    expect(await pingRedis(server.port)).toBe(false);
    expect(await isPortFree(server.port)).toBe(true);
  });

  test("persistence off writes nothing", async () => {
    const [server, dataDir] = await throwaway();
    await server.stop();
    expect(existsSync(join(dataDir, "appendonlydir"))).toBe(false);
    expect(existsSync(join(dataDir, "dump.rdb"))).toBe(false);
  });

  test("a stale pidfile (a pid now dead, or reused by a process elsewhere) holds nothing", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, PIDFILE), `${process.pid}\n`); // alive, but runs from elsewhere
    expect(dataDirHolder(dir)).toBeNull();
    const [server, dataDir] = await throwaway();
    expect(dataDirHolder(dataDir)).toBe(server.pid);
    server.kill();
    await server.exited; // killed: Redis could not remove its pidfile
    expect(existsSync(join(dataDir, PIDFILE))).toBe(true);
    expect(dataDirHolder(dataDir)).toBeNull();
  });

  test("a port in use fails fast with the end of redis' log", async () => {
    const [server] = await throwaway();
    const failing = startRedisServer({ port: server.port, dataDir: tempDir(), persistence: false });
    await expect(failing).rejects.toBeInstanceOf(ConnectError);
    await expect(failing).rejects.toThrow(/exited with code 1; last lines of its log:\n.*in use/s);
  });
});

describe("Supervisor", () => {
  function supervise(): { supervisor: Supervisor; lines: string[] } {
    const lines: string[] = [];
    const output = createOutput({ names: [], color: false, write: (t) => lines.push(t.trimEnd()) });
    const supervisor = new Supervisor({ output, detached: false });
    cleanups.push(() => supervisor.kill());
    return { supervisor, lines };
  }
  const bun = (code: string) => [process.execPath, "-e", code];

  test("prefixes output and restarts a process that exits on its own", async () => {
    const { supervisor, lines } = supervise();
    supervisor.start({
      name: "w",
      cmd: bun("console.log('a'); console.error('b')"),
      restartDelayMs: 50,
    });
    await until(() => lines.filter((l) => l === "w | a").length >= 2, "a restart");
    expect(lines).toContain("w | b");
    expect(lines).toContain("system | w exited (code 0); restarting in 0.05 s");
    await supervisor.stop(1_000);
  });

  test("stop: SIGTERM first, SIGKILL after the grace period", async () => {
    const { supervisor, lines } = supervise();
    const up = "console.log('up'); setInterval(() => {}, 1e3);";
    const polite = `process.on('SIGTERM', () => { console.log('bye'); process.exit(0) }); ${up}`;
    const stubborn = `process.on('SIGTERM', () => console.log('no')); ${up}`;
    supervisor.start({ name: "polite", cmd: bun(polite), restartDelayMs: 50 });
    supervisor.start({ name: "stubborn", cmd: bun(stubborn), restartDelayMs: 50 });
    await until(() => lines.filter((l) => l.endsWith("| up")).length === 2, "both up");
    await supervisor.stop(300);
    expect(lines).toContain("polite | bye");
    expect(lines).toContain("system | polite stopped (code 0)");
    expect(lines).toContain("stubborn | no");
    expect(lines).toContain("system | stubborn stopped (killed by SIGKILL)");
    expect(supervisor.pids()).toEqual([]);
  });
});

describe("bin/stack.ts", () => {
  // The preload's REDIS_URL must not leak in: each test says which Redis it wants.
  const { REDIS_URL: _, COURIER_QUEUE: __, ...env } = process.env;

  function runStackBin(args: string[], extraEnv: Record<string, string> = {}) {
    const proc = Bun.spawn([process.execPath, join(REPO_ROOT, "bin/stack.ts"), ...args], {
      env: { ...env, ...extraEnv },
      stdout: "pipe",
      stderr: "pipe",
    });
    pids.add(proc.pid);
    return proc;
  }

  /** Runs the stack until its "ready" line; every pid it prints is killed after the test. */
  async function readyStack(args: string[]) {
    const proc = runStackBin([...args, "--workers", "1"]);
    const out = collect(proc.stdout);
    // The banner's last line, not "ready": the lines after "ready" may still be on their way.
    await waitFor(out, /system +\| Ctrl-C stops the workers/, 15_000, "the banner's last line");
    for (const m of out.text.matchAll(/\(pid (\d+)/g)) pids.add(Number(m[1]));
    return { proc, out };
  }

  test("runs redis with its AOF and a worker, and stops cleanly on SIGINT", async () => {
    const [port, dataDir] = [await findFreePort(), tempDir()];
    const { proc, out } = await readyStack(["--redis-port", String(port), "--data-dir", dataDir]);
    expect(await pingRedis(port)).toBe(true);
    expect(existsSync(join(dataDir, "appendonlydir"))).toBe(true);
    expect(out.text).toContain(`redis://127.0.0.1:${port}`);
    expect(out.text).toContain("bun bin/trigger.ts --url https://example.org/");
    proc.kill("SIGINT");
    expect(await exitCodeWithin(proc, 15_000, out)).toBe(0);
    expect(await isPortFree(port)).toBe(true);
    expect(out.text).toContain("redis stopped (code 0)");
  }, 40_000);

  test("with --redis-url it starts no Redis and leaves that one running", async () => {
    const [server] = await throwaway();
    const { proc, out } = await readyStack(["--redis-url", server.url, "--prefix", "stk"]);
    expect(out.text).not.toContain("redis.1");
    // The way to reach these workers from another terminal names their key prefix.
    expect(out.text).toContain(
      `bun bin/trigger.ts --url https://example.org/ --redis-url ${server.url} --prefix stk`,
    );
    proc.kill("SIGTERM");
    expect(await exitCodeWithin(proc, 15_000)).toBe(0);
    expect(await pingRedis(server.port)).toBe(true);
  }, 40_000);

  test.each([
    [["--workers", "x"], 2, /^stack: --workers must be a whole number/],
    [["--redis-port", "0"], 2, /^stack: --redis-port must be/],
    [["--redis-url", "http://u:secret@x"], 2, /^stack: invalid Redis URL "http:\/\/u:\*\*\*@x"/],
  ])("%j exits %d with one line", async (args, code, message) => {
    const proc = runStackBin(args);
    expect(await exitCodeWithin(proc, 10_000)).toBe(code);
    expect(await new Response(proc.stderr).text()).toMatch(message);
  });

  test("--help names the dashboard, its variables and --prefix", async () => {
    const proc = runStackBin(["--help"]);
    expect(await exitCodeWithin(proc, 10_000)).toBe(0);
    const help = await new Response(proc.stdout).text();
    for (const word of ["dashboard", "COURIER_DASHBOARD_HOST", "COURIER_DASHBOARD_PORT"]) {
      expect(help).toContain(word);
    }
    expect(help).toContain("COURIER_DASHBOARD_TOKEN");
    expect(help).toContain("--prefix");
  });

  test("a port in use is bad usage (exit 2), worded as the worker's: the way out on one line", async () => {
    const [server] = await throwaway();
    const proc = runStackBin(["--redis-port", String(server.port)]);
    expect(await exitCodeWithin(proc, 10_000)).toBe(2);
    const [line, ...rest] = (await new Response(proc.stderr).text()).trim().split("\n");
    expect(line).toStartWith(`stack: cannot listen on 127.0.0.1:${server.port}: address in use`);
    expect(line).toContain(
      `--redis-port <port> (and --data-dir DIR if it is another stack's), or use the Redis there with --redis-url ${server.url}`,
    );
    expect(rest).toEqual([]); // no "Run with --help": no option there frees the port
    expect(await new Response(proc.stdout).text()).toBe("");
  });

  test("a data folder a live Redis uses is refused (exit 2), that Redis untouched", async () => {
    const [first, dataDir] = await throwaway(true);
    const port = await findFreePort();
    const proc = runStackBin(["--redis-port", String(port), "--data-dir", dataDir]);
    expect(await exitCodeWithin(proc, 10_000)).toBe(2);
    expect((await new Response(proc.stderr).text()).trim().split("\n")).toEqual([
      `stack: another Redis (pid ${first.pid}) uses ${dataDir}: stop that stack, or give --data-dir DIR`,
    ]);
    // Refused before it says it starts one (`starting redis-server on …`).
    expect(await new Response(proc.stdout).text()).toBe("");
    expect(await isPortFree(port)).toBe(true); // no second server was started
    expect(await pingRedis(first.port)).toBe(true);
    // Stopped cleanly, Redis removes its pidfile: the folder is free again.
    await first.stop();
    const again = await startRedisServer({ port, dataDir, persistence: true });
    cleanups.push(() => again.stop(2_000));
    expect(await pingRedis(port)).toBe(true);
  });

  test.each([["one server"], ["--cluster"]])(
    "a data folder that is a file is bad usage (exit 2), one line, nothing started (%s)",
    async (mode) => {
      const file = join(tempDir(), "not-a-folder");
      writeFileSync(file, "");
      const port = await findFreePort();
      const where = mode === "--cluster" ? ["--cluster"] : ["--redis-port", String(port)];
      const proc = runStackBin([...where, "--data-dir", file]);
      expect(await exitCodeWithin(proc, 10_000)).toBe(2);
      expect(await new Response(proc.stderr).text()).toBe(
        `stack: cannot keep Redis' data in ${file}: it is a file, not a folder; give --data-dir DIR\n`,
      );
      expect(await new Response(proc.stdout).text()).toBe("");
      expect(await isPortFree(port)).toBe(true);
    },
  );

  test("no redis-server on PATH: one line with the install command, exit 6", async () => {
    const proc = runStackBin([], { PATH: dirname(process.execPath) });
    expect(await exitCodeWithin(proc, 10_000)).toBe(6);
    expect(await new Response(proc.stderr).text()).toBe(`stack: ${REDIS_NOT_INSTALLED}\n`);
  });

  test.each([
    ["--redis-url", (url: string) => [["--redis-url", url], {}, ""] as const],
    [
      "REDIS_URL",
      (url: string) =>
        [[], { REDIS_URL: url }, " \\(from REDIS_URL; unset it or start that Redis\\)"] as const,
    ],
  ])(
    "a Redis in %s that does not answer: exit 6, one line, URL masked, never ready",
    async (_, given) => {
      const port = await findFreePort(); // nothing listens there
      const [args, extraEnv, hint] = given(`redis://u:secret@127.0.0.1:${port}`);
      const proc = runStackBin([...args], extraEnv);
      expect(await exitCodeWithin(proc, 15_000)).toBe(6);
      const stderr = await new Response(proc.stderr).text();
      expect(stderr).toMatch(
        new RegExp(
          `^stack: cannot connect to Redis at redis://u:\\*\\*\\*@127\\.0\\.0\\.1:${port}: [^\n]*ECONNREFUSED[^\n]*${hint}\n$`,
        ),
      );
      expect(await new Response(proc.stdout).text()).toBe("");
    },
    20_000,
  );

  test("Redis dying under the stack stops the workers and exits 6", async () => {
    const [port, dataDir] = [await findFreePort(), tempDir()];
    const { proc, out } = await readyStack(["--redis-port", String(port), "--data-dir", dataDir]);
    const redisPid = Number(/pid (\d+), data in/.exec(out.text)?.[1]);
    pids.add(redisPid);
    process.kill(redisPid, "SIGKILL");
    expect(await exitCodeWithin(proc, 30_000, out)).toBe(6);
    expect(out.text).toContain("redis exited on its own");
  }, 45_000);
});
