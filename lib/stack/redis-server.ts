// Start, wait for and stop a local redis-server: used by `bin/stack.ts`, and written so a test
// harness can start a throwaway Redis on a free port in a temporary directory.
import { mkdirSync } from "node:fs";
import { connect, createServer } from "node:net";
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { ConnectError } from "../errors.ts";
import { pidfileArgs, refuseSharedDataDir } from "./_data-dir.ts";
import {
  exitedWithin,
  hasExited,
  parentDeathPrefix,
  readLines,
  settledWithin,
  signal,
} from "./_process.ts";

export const REDIS_NOT_INSTALLED =
  'redis-server is not installed: run "sudo apt-get install -y redis-server" (Debian/Ubuntu), ' +
  "or set REDIS_URL to use another Redis";

export interface RedisServerOptions {
  /** TCP port; the server listens on 127.0.0.1 only. */
  port: number;
  /** Working directory of the server: the AOF goes in `<dataDir>/appendonlydir/`. Created. */
  dataDir: string;
  /** AOF on, fsync every second (default true). Off: nothing is written to disk at all. */
  persistence?: boolean;
  /** The executable (default `redis-server` from PATH). */
  bin?: string;
  /** How long to wait for the first PONG before giving up (default 10 000 ms). */
  startTimeoutMs?: number;
  /**
   * Own session (setsid), so a Ctrl-C in the terminal reaches only our process, which then stops
   * Redis last, after the workers have drained. Default false: a test harness wants the
   * terminal's Ctrl-C to take its Redis down with it.
   */
  detached?: boolean;
  /**
   * With `detached`: stop the server when this process dies (default true). False for a server
   * that must outlive the command that started it (`scripts/cluster.ts start`).
   */
  stopWithParent?: boolean;
  /** Gets each line of the server's log. Default: lines are only kept for error messages. */
  onLine?: (line: string) => void;
  /** More configuration, after ours (e.g. `["--maxmemory", "8mb"]`). Default none. */
  extraArgs?: readonly string[];
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` (no password: the server only listens on loopback). */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves with the exit code when the server exits, for whatever reason. */
  readonly exited: Promise<number>;
  /** The last lines of its log, oldest first. */
  logTail(): string[];
  /** SIGTERM (Redis fsyncs its AOF and exits), then SIGKILL if still up after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number>;
  /** SIGKILL now: loses at most the last second of writes (appendfsync everysec). */
  kill(): void;
}

const LOG_TAIL_LINES = 20;

/** Path of `redis-server` on PATH, or null when it is not installed. */
export function findRedisServer(): string | null {
  return Bun.which("redis-server");
}

/**
 * Starts redis-server and resolves once it answers PING. Throws ConnectError, or UnavailableError (a ConfigError) when
 * a live redis-server already uses the data folder.
 */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServer> {
  const bin = options.bin ?? findRedisServer();
  if (!bin) throw new ConnectError(REDIS_NOT_INSTALLED);
  // Absolute: redis resolves --dir against its own working directory, which is this one.
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  refuseSharedDataDir(dataDir);
  const detached = options.detached ?? false;
  const prefix = detached && (options.stopWithParent ?? true) ? parentDeathPrefix() : [];
  const proc = Bun.spawn({
    cmd: [...prefix, bin, ...redisArgs({ ...options, dataDir })],
    cwd: dataDir,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached,
  });
  const tail: string[] = [];
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > LOG_TAIL_LINES) tail.shift();
    options.onLine?.(line);
  };
  const reading = Promise.all([readLines(proc.stdout, onLine), readLines(proc.stderr, onLine)]);
  const server = wrap(proc, options.port, tail);
  try {
    await waitForRedis(options.port, proc, options.startTimeoutMs ?? 10_000);
  } catch (err) {
    server.kill();
    await proc.exited;
    await settledWithin(reading, 1_000); // its last words are usually the reason
    throw new ConnectError(`${(err as Error).message}; last lines of its log:\n${indent(tail)}`);
  }
  return server;
}

/**
 * Command-line configuration. No config file: everything the server needs is here, so a
 * distribution's /etc/redis/redis.conf (which may daemonize or log to /var/log) never applies.
 */
export function redisArgs(options: RedisServerOptions): string[] {
  const aof = options.persistence ?? true;
  return [
    ["--port", String(options.port)],
    ["--bind", "127.0.0.1"],
    ["--dir", options.dataDir],
    pidfileArgs(options.dataDir),
    ["--daemonize", "no"],
    ["--logfile", ""],
    // No RDB snapshots: with the AOF on, Redis loads the AOF at start and ignores dump.rdb, and
    // a snapshot on shutdown would only make Ctrl-C slower.
    ["--save", ""],
    ["--appendonly", aof ? "yes" : "no"],
    // everysec: at most one second of writes lost on a crash, at a fraction of `always`'s cost.
    ["--appendfsync", "everysec"],
    [...(options.extraArgs ?? [])],
  ].flat();
}

function wrap(proc: Subprocess, port: number, tail: string[]): RedisServer {
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: proc.pid,
    exited: proc.exited,
    logTail: () => [...tail],
    async stop(timeoutMs = 15_000) {
      signal(proc, "SIGTERM");
      if (!(await exitedWithin(proc, timeoutMs))) signal(proc, "SIGKILL");
      return proc.exited;
    },
    kill: () => signal(proc, "SIGKILL"),
  };
}

/**
 * Polls until Redis answers PING with +PONG (not -LOADING) and is the process we started: another
 * server already on the port would answer too, and ours would then exit with "in use".
 */
async function waitForRedis(port: number, proc: Subprocess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited(proc)) {
      throw new Error(`redis-server exited with code ${proc.exitCode ?? proc.signalCode}`);
    }
    if ((await pingRedis(port)) && (await serverPid(port)) === proc.pid) return;
    await Bun.sleep(100);
  }
  throw new Error(`redis-server did not answer PING on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** Sends a raw `PING` and reports whether the reply is `+PONG`. Never throws. */
export async function pingRedis(
  port: number,
  host = "127.0.0.1",
  timeoutMs = 1_000,
): Promise<boolean> {
  const reply = await inlineCommand(port, host, "PING", (r) => r.includes("\r\n"), timeoutMs);
  return reply?.startsWith("+PONG") ?? false;
}

/** The pid of the server listening on 127.0.0.1:`port`, from INFO; undefined if unknown. */
async function serverPid(port: number): Promise<number | undefined> {
  const done = (r: string) => /process_id:\d+\r\n/.test(r) || r.startsWith("-");
  const reply = await inlineCommand(port, "127.0.0.1", "INFO server", done, 1_000);
  const pid = reply ? /process_id:(\d+)/.exec(reply)?.[1] : undefined;
  return pid ? Number(pid) : undefined;
}

/**
 * Sends one inline command (no client library: this runs before any Redis is known to be up)
 * and resolves with the reply so far once `complete` accepts it, or null. Never throws.
 */
function inlineCommand(
  port: number,
  host: string,
  command: string,
  complete: (reply: string) => boolean,
  timeoutMs: number,
): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    let reply = "";
    const done = (result: string | null) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.on("connect", () => socket.write(`${command}\r\n`));
    socket.on("data", (data) => {
      reply += data.toString();
      if (complete(reply)) done(reply);
    });
    socket.on("error", () => done(null));
    socket.on("close", () => done(null));
  });
}

/** Whether nothing listens on 127.0.0.1:`port` (we could bind it ourselves). */
export async function isPortFree(port: number): Promise<boolean> {
  return (await listenProblem(port)) === null;
}

/** Why 127.0.0.1:`port` cannot be listened on (EADDRINUSE, EACCES…), or null when it can. */
export function listenProblem(port: number): Promise<Error | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err) => resolve(err));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      server.close(() => resolve(null));
    });
  });
}

/** A port that was free a moment ago on 127.0.0.1 (the kernel picks it; racy but good enough). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

function indent(lines: string[]): string {
  return lines.length ? lines.map((l) => `  ${l}`).join("\n") : "  (nothing)";
}
