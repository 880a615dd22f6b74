// Test helpers: a unique key prefix per test, tracked resources (closed after each test, and
// reported as a failure when a test forgets them), a local page server and CLI runners.

import { afterAll, beforeAll } from "bun:test";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Server, Subprocess } from "bun";
import type { Logger, LogLevel } from "../lib/log.ts";
import { Queue, type QueueConfig } from "../lib/queue/queue.ts";
import { mastersOf, onNodeOf } from "../lib/redis/cluster.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { Worker, type WorkerConfig } from "../lib/worker/worker.ts";

export const ROOT = resolve(import.meta.dir, "..");

export function redisUrl(): string {
  const url = process.env.COURIER_TEST_REDIS_URL;
  if (!url) throw new Error("tests/preload.ts did not start Redis (run tests with `bun test`)");
  return url;
}

/**
 * Shards of the queues tests create through these helpers: COURIER_TEST_SHARDS (6 in the
 * cluster pass, tests/preload.ts), else undefined (a new queue gets 1).
 */
export function testShards(): number | undefined {
  const n = Number(process.env.COURIER_TEST_SHARDS);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

/**
 * For a test file that checks a queue's raw keys in the one-shard layout (queueKeys): in the
 * cluster pass its queues get one shard too (COURIER_TEST_SHARDS=1 while it runs), still on
 * the cluster, in one slot. Call it at the top of the file.
 */
export function oneShardFile(): void {
  pinShards(1);
}

/** Where a test cannot run on a cluster at all (`test.skipIf(!onOneServer)`, with the reason). */
export const onOneServer = process.env.COURIER_TEST_CLUSTER !== "1";

let counter = 0;
/** A key prefix no other test uses, so tests never see each other's keys. */
export function testPrefix(): string {
  return `t${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 6)}`;
}

type Closer = { what: string; close: () => Promise<unknown> | unknown };
const open = new Set<Closer>();

function track(what: string, close: () => Promise<unknown> | unknown): Closer {
  const c = { what, close };
  open.add(c);
  return c;
}

/** Closes whatever a test left open; returns what that was. */
export async function closeLeftovers(): Promise<string[]> {
  const left = [...open];
  open.clear();
  await Promise.all(left.map((c) => Promise.resolve(c.close()).catch(() => {})));
  return left.map((c) => c.what);
}

/** A queue client on the test Redis, to be closed by the test (`using` or close()). */
export async function openQueue(config: QueueConfig): Promise<Queue & AsyncDisposable> {
  const q = await Queue.connect({ redisUrl: redisUrl(), shards: testShards(), ...config });
  const c = track("queue", () => q.close());
  const close = q.close.bind(q);
  q.close = async () => {
    open.delete(c);
    await close();
  };
  return Object.assign(q, { [Symbol.asyncDispose]: () => q.close() });
}

/** A worker on the test Redis; test intervals are short so nothing needs to sleep long. */
export async function startWorker(config: WorkerConfig & { prefix: string }): Promise<Worker> {
  const w = await Worker.start({
    redisUrl: redisUrl(),
    shards: testShards(),
    blockMs: 100,
    promoteEveryMs: 20,
    backoffBaseMs: 20,
    ...config,
  });
  const c = track(`worker ${w.name}`, () => w.stop(0));
  void w.stopped.then(() => open.delete(c));
  return w;
}

/** A raw connection for assertions: replies are untyped, as tests read them. */
export interface RawRedis extends AsyncDisposable {
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked by the assertions
  sendCommand(args: readonly string[]): Promise<any>;
}

/** A raw Redis connection for assertions. */
export async function rawRedis(): Promise<RawRedis> {
  const r = await connect(redisUrl());
  const c = track("redis connection", () => r.destroy());
  return Object.assign(r, {
    [Symbol.asyncDispose]: async () => {
      open.delete(c);
      r.destroy();
    },
  });
}

/** A page server on 127.0.0.1 with a free port; stopped after the test. */
export function servePages(
  fetch: (req: Request) => Response | Promise<Response>,
): Server<undefined> {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch });
  const c = track("page server", () => server.stop(true));
  const stop = server.stop.bind(server);
  server.stop = (force?: boolean) => {
    open.delete(c);
    return stop(force);
  };
  return server;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bun bin/<name>.ts …args` to completion. */
export async function runCli(
  name: string,
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const proc = spawnCli(name, args, { ...options, stdin: options.stdin });
  const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs ?? 20_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/**
 * How to start `bin/<name>.ts`: its compiled build when `bun run check` made one
 * (COURIER_TEST_CLI_DIR: scripts/_test-clis.ts), else `bun` on the source. A run given
 * BUN_OPTIONS (a `--preload` that injects a fault into the CLI's modules) takes the source:
 * a compiled CLI's modules are its own.
 */
export function cliCommand(name: string, env: Record<string, string> = {}): string[] {
  const dir = process.env.COURIER_TEST_CLI_DIR;
  if (dir && env.BUN_OPTIONS === undefined && existsSync(resolve(dir, name))) {
    return [resolve(dir, name)];
  }
  return [process.execPath, resolve(ROOT, "bin", `${name}.ts`)];
}

/** Starts `bun bin/<name>.ts …args`; killed after the test if still running. */
export function spawnCli(
  name: string,
  args: string[],
  // openStdin: standard input is left open for the test to write and end.
  options: { env?: Record<string, string>; stdin?: string; openStdin?: boolean } = {},
): Subprocess<"pipe", "pipe", "pipe"> {
  const proc = Bun.spawn({
    cmd: [...cliCommand(name, options.env), ...args],
    cwd: ROOT,
    env: cliEnv(options.env),
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  if (options.stdin !== undefined) proc.stdin.write(options.stdin);
  if (!options.openStdin) proc.stdin.end();
  const c = track(`process bin/${name}.ts`, () => proc.kill("SIGKILL"));
  void proc.exited.then(() => open.delete(c));
  return proc;
}

/** A CLI's environment: the test Redis, and the shard count a sharded run tests with. */
function cliEnv(env: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    ...process.env,
    REDIS_URL: redisUrl(),
    ...(testShards() === undefined ? {} : { COURIER_SHARDS: String(testShards()) }),
    ...env,
  };
}

/**
 * Starts `bin/<name>.ts …args`, standard input from `stdinFile`, its standard output into a pipe
 * nobody reads until `release()` (a stalled reader: a pager, a full pipe). A pipe Bun.spawn
 * makes is read by Bun as the child writes, whether the test reads it or not, so a shell
 * holds this one: its `cat` starts once a line comes on the shell's own standard input. `code`
 * is the CLI's exit code (pipefail: `cat` exits 0); stderr is the CLI's.
 */
export function spawnCliUnread(
  name: string,
  args: string[],
  stdinFile = "/dev/null",
): { proc: Subprocess<"pipe", "pipe", "pipe">; release: () => void } {
  const script = 'set -o pipefail; exec 3<&0; "$@" <"$IN" | { read -r _ <&3; exec cat; }';
  const proc = Bun.spawn({
    cmd: ["bash", "-c", script, "bash", ...cliCommand(name), ...args],
    cwd: ROOT,
    env: { ...cliEnv(), IN: stdinFile },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    proc.stdin.write("\n");
    proc.stdin.end();
  };
  // Released, the CLI runs to its end on its own (killing the shell would leave it stalled).
  const c = track(`process bin/${name}.ts (stdout unread)`, release);
  void proc.exited.then(() => open.delete(c));
  return { proc, release };
}

/** Resolves when `predicate` holds, checking after each `tick()`; fails after `timeoutMs`. */
export async function until(
  predicate: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

/**
 * Reads `reader` until `enough` holds of all the text read; returns that text. A stream that
 * ends first fails with what it said (a loop on read() alone would spin for ever at its end:
 * a done read resolves at once, so no timer, not even the test's timeout, could fire).
 */
export async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  enough: (text: string) => boolean,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  while (!enough(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before what was awaited; it said:\n${text}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

/**
 * Whether `p` has settled yet (its outcome is awaited elsewhere): a loop that answers a run's
 * calls stops when the run ends early, instead of spinning for ever.
 */
export function settled(p: Promise<unknown>): { yes: boolean } {
  const state = { yes: false };
  const done = () => {
    state.yes = true;
  };
  p.then(done, done);
  return state;
}

/** Reads lines from a stream until one matches; returns it. */
export async function waitForLine(
  stream: ReadableStream<Uint8Array>,
  match: RegExp,
  timeoutMs = 10_000,
): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      const line = buf.split("\n").find((l) => match.test(l));
      if (line) return line;
    }
  } finally {
    reader.releaseLock();
  }
  throw new Error(`no line matching ${match} in output:\n${buf}`);
}

/**
 * A line of `proc`'s stdout matching `match` (waitForLine); when none comes, the error says how
 * the process ended and what it wrote on stderr, not only that stdout had no such line.
 */
export async function stdoutLine(
  proc: Subprocess<"pipe" | "ignore", "pipe", "pipe">,
  match: RegExp,
  timeoutMs = 10_000,
): Promise<string> {
  try {
    return await waitForLine(proc.stdout, match, timeoutMs);
  } catch (err) {
    proc.kill("SIGKILL");
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    throw new Error(`${(err as Error).message}\n(exit ${code}; stderr: ${stderr})`);
  }
}

/** A logger that keeps what it is told, for assertions on log events. */
export interface Recorded {
  at: number;
  level: LogLevel;
  event: string;
  fields: Record<string, unknown>;
}

export function logRecorder(): Logger & { records: Recorded[]; events: () => string[] } {
  const records: Recorded[] = [];
  return {
    records,
    events: () => records.map((r) => r.event),
    log: (level, event, fields = {}) => void records.push({ at: Date.now(), level, event, fields }),
  };
}

/** Runs a command to completion, collecting its output. */
export async function runProcess(
  cmd: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  const proc = Bun.spawn({
    cmd,
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** Entries read and not yet acknowledged in the queue's group (XPENDING's count). */
export async function pendingCount(r: RawRedis, keys: { stream: string }): Promise<number> {
  const reply = (await r.sendCommand(["XPENDING", keys.stream, "workers"])) as [number];
  return Number(reply[0]);
}

/** The queue's dead letters as job id → error. */
export async function deadLetterErrors(
  r: RawRedis,
  keys: { dead: string },
): Promise<Map<string, string>> {
  const entries = (await r.sendCommand(["XRANGE", keys.dead, "-", "+"])) as [string, string[]][];
  const byId = new Map<string, string>();
  for (const [, f] of entries) {
    const m = new Map<string, string>();
    for (let i = 0; i + 1 < f.length; i += 2) m.set(f[i]!, f[i + 1]!);
    byId.set(m.get("id") ?? "", m.get("error") ?? "");
  }
  return byId;
}

/**
 * How many times Redis has run `command` (INFO commandstats; calls from scripts count too).
 * The test Redis is this run's own and tests run one at a time, so a rise between two reads
 * is the current test's doing: a way to wait for "the worker has read N times" without sleeping.
 * On a cluster, `near` (one of the queue's keys) says which node's counts to read.
 */
export async function commandCalls(r: RawRedis, command: string, near?: string): Promise<number> {
  // On a cluster each node counts its own calls: `near`, a key, names the node to ask; without
  // it, the sum over the masters (a queue's shards are spread over them).
  const nodes =
    near === undefined
      ? await mastersOf(r as unknown as Redis)
      : [onNodeOf(r as unknown as Redis, near)];
  let calls = 0;
  for (const node of nodes) {
    const info = String(await node.sendCommand(["INFO", "commandstats"]));
    const m = new RegExp(`^cmdstat_${command.toLowerCase()}:calls=(\\d+)`, "m").exec(info);
    calls += m ? Number(m[1]) : 0;
  }
  return calls;
}

/** Redis' clock, ms (one TIME): the clock every time Courier writes comes from. */
export async function redisTime(r: { sendCommand(args: readonly string[]): Promise<unknown> }) {
  const [s, us] = (await r.sendCommand(["TIME"])) as [string, string];
  return Number(s) * 1_000 + Math.floor(Number(us) / 1_000);
}

/**
 * Pins the shards of the queues this file's tests make through these helpers (openQueue,
 * startWorker, spawnCli) to `n`, whatever COURIER_TEST_SHARDS says (6 in the cluster pass): for
 * a file that checks one shard's own keys. On a cluster its queue then lives in one slot.
 * Call at the top level of the file.
 */
export function pinShards(n: number): void {
  let before: string | undefined;
  beforeAll(() => {
    before = process.env.COURIER_TEST_SHARDS;
    process.env.COURIER_TEST_SHARDS = String(n);
  });
  afterAll(() => {
    if (before === undefined) delete process.env.COURIER_TEST_SHARDS;
    else process.env.COURIER_TEST_SHARDS = before;
  });
}

/**
 * A plain redis:// URL of the one server holding `key`: the test Redis itself, or on a cluster
 * the master of the key's slot (for what only one server's client can do: MONITOR, CLIENT LIST).
 */
export async function nodeUrlOf(key: string): Promise<string> {
  if (process.env.COURIER_TEST_CLUSTER !== "1") return redisUrl();
  await using r = await rawRedis();
  const slot = Number(await r.sendCommand(["CLUSTER", "KEYSLOT", key]));
  const ranges = (await r.sendCommand(["CLUSTER", "SLOTS"])) as [
    number,
    number,
    [string, number],
  ][];
  const range = ranges.find(([from, to]) => slot >= Number(from) && slot <= Number(to));
  if (!range) throw new Error(`no master serves slot ${slot}`);
  return `redis://${range[2][0]}:${range[2][1]}`;
}

/** CLIENT LIST of the test Redis: of every master on a cluster (the cluster pass), one after the other. */
export async function clientList(r: RawRedis): Promise<string> {
  const nodes = await mastersOf(r as unknown as Redis);
  const lists = await Promise.all(nodes.map((n) => n.sendCommand(["CLIENT", "LIST"])));
  return lists.map(String).join("");
}
