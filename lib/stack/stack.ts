// The local stack, honcho-style: one redis-server (unless REDIS_URL names another; with
// --cluster, a local 3+3 Redis Cluster) and N workers, their output interleaved under their
// names. Stop order matters: workers first, so they can record the jobs they are running, then
// Redis, which writes its AOF on the way out.
import { defaults } from "../config.ts";
import { isLoopback } from "../dashboard/auth.ts";
import { dashboardDefaults } from "../dashboard/options.ts";
import { ConfigError, ConnectError, InputError, UnavailableError } from "../errors.ts";
import { connect } from "../redis/connect.ts";
import { maskUrl } from "../redis/url.ts";
import { listenError } from "../worker/health.ts";
import {
  clusterNodeNames,
  type LocalRedis,
  serverRedis,
  startStackCluster,
} from "./_local-redis.ts";
import { createOutput, type Output, wantColour } from "./_output.ts";
import { isCompiled, ownCommand, scriptOf, shownCommand } from "./_self.ts";
import { listenForSignals, type Signals } from "./_signals.ts";
import type { StackOptions } from "./options.ts";
import {
  findRedisServer,
  isPortFree,
  listenProblem,
  REDIS_NOT_INSTALLED,
  type RedisServer,
  startRedisServer,
} from "./redis-server.ts";
import { Supervisor } from "./supervisor.ts";

// The seed's Procfile loop waited 2 s before restarting `rq worker`: long enough not to spin
// while Redis is down, short enough that nobody notices.
const RESTART_DELAY_MS = 2_000;
/**
 * A worker or dashboard exiting 2 (bad usage: an option, a queue of another shard count, a
 * name in use) would fail the same way each restart: the stack stops instead, exit 2.
 */
const FINAL = [2];
// Above the worker's own shutdownGraceMs (25 s), so a worker releases its unfinished jobs itself
// before we resort to SIGKILL.
const WORKER_STOP_GRACE_MS = 30_000;
// The Redis named by --redis-url must answer this soon: the connect timeout of every command.
const GIVEN_REDIS_TIMEOUT_MS = 5_000;

/** How a stack that started ended: bin/stack.ts turns it into an exit code. */
export type StackEnd = "stopped" | "redis-exited" | "killed" | "gave-up";

/**
 * Runs the stack until SIGINT/SIGTERM/SIGHUP; resolves with "stopped" after a clean stop,
 * "redis-exited" when Redis died under it, "killed" after a second signal. When it cannot start,
 * it throws a CourierError (ConfigError: a port it cannot listen on; ConnectError: no
 * redis-server, or a Redis that does not answer) having stopped whatever it had started.
 */
export async function runStack(options: StackOptions): Promise<StackEnd> {
  const redisNames = options.cluster ? clusterNodeNames() : ["redis.1"];
  const names = ["system", ...redisNames, ...workerNames(options.workers), "dashboard"];
  const output = createOutput({ names, color: wantColour() });
  const signals = listenForSignals();
  let redis: LocalRedis | undefined;
  try {
    await preflight(options);
    if (options.redisUrl) await checkGivenRedis(options.redisUrl);
    redis = await startOwnRedis(options, output);
    const url = redis?.url ?? options.redisUrl!;
    // A cluster's seed URL and shard count; nothing more for one server (they inherit ours).
    const env =
      redis && Object.keys(redis.env).length ? { ...process.env, ...redis.env } : undefined;
    const supervisor = new Supervisor({ output });
    workerNames(options.workers).forEach((name, i) => {
      const cmd = workerCmd(options, url, i + 1);
      supervisor.start({ name, cmd, env, restartDelayMs: RESTART_DELAY_MS, finalCodes: FINAL });
    });
    const dashboard = await startDashboardProcess(supervisor, output, options, url, env);
    await printBanner(output, options, url, redis, dashboard);
    return await runUntilStopped(output, supervisor, redis, signals);
  } catch (err) {
    redis?.kill(); // detached: it would outlive us
    throw err;
  } finally {
    signals.dispose();
  }
}

/** The Redis this stack runs, if any: none when given one. */
async function startOwnRedis(
  options: StackOptions,
  output: Output,
): Promise<LocalRedis | undefined> {
  if (options.redisUrl) return undefined;
  if (options.cluster) return startStackCluster(options, output);
  return serverRedis(await startLocalRedis(options, output), options.dataDir);
}

/** What can be checked before anything starts. */
async function preflight(options: StackOptions): Promise<void> {
  if (!options.redisUrl && !findRedisServer()) throw new ConnectError(REDIS_NOT_INSTALLED);
  // Compiled, the workers are this executable; from a checkout, its bin/ files.
  if (isCompiled()) return;
  for (const script of [scriptOf("worker"), scriptOf("dashboard")]) {
    if (!(await Bun.file(script).exists())) {
      throw new InputError(`cannot start workers: ${script} does not exist`);
    }
  }
}

/**
 * Workers pointed at a Redis that does not answer would only be restarted every 2 s for ever,
 * under a "ready" line: check it first, as each worker will (connect, INFO, version), and say
 * why in one line (URL masked) if it fails.
 */
async function checkGivenRedis(url: string): Promise<void> {
  const client = await connect(url, { timeoutMs: GIVEN_REDIS_TIMEOUT_MS });
  client.destroy();
}

async function runUntilStopped(
  output: Output,
  supervisor: Supervisor,
  redis: LocalRedis | undefined,
  signals: Signals,
): Promise<StackEnd> {
  const say = (text: string) => output.line("system", text);
  const died = redis ? redis.exited : new Promise<number>(() => {});
  const event = await Promise.race([
    signals.first,
    died.then((code) => ({ code })),
    supervisor.gaveUp,
  ]);
  if (typeof event === "object" && "name" in event) {
    say(`${event.name} cannot start (exit ${event.code}, its message above): stopping`);
    const killed = signals.first.then(() => {
      supervisor.kill();
      redis?.kill();
    });
    await Promise.race([shutdown(output, supervisor, redis), killed]);
    return "gave-up";
  }
  const bySignal = typeof event === "string";
  say(
    bySignal
      ? `${event}: stopping (Ctrl-C again, a second or more from now, kills everything at once)`
      : `redis exited on its own (code ${event.code}): stopping the workers`,
  );
  // From here on Redis exiting is expected: only a further signal changes the plan.
  const kill = signals[bySignal ? "second" : "first"].then(() => {
    say("second signal: killing everything now");
    supervisor.kill();
    redis?.kill();
    return "killed" as const;
  });
  // A Redis that died needs no stopping: only the workers are left.
  const stopped = shutdown(output, supervisor, bySignal ? redis : undefined);
  return Promise.race([stopped.then(() => (bySignal ? "stopped" : "redis-exited")), kill]);
}

function workerNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `worker.${i + 1}`);
}

async function startLocalRedis(options: StackOptions, output: Output): Promise<RedisServer> {
  const port = options.redisPort;
  const problem = await listenProblem(port);
  if (problem) {
    // One wording with the worker's and the dashboard's ports, plus the two ways out.
    const err = listenError(problem, "127.0.0.1", port);
    if (!(err instanceof ConfigError)) throw err;
    const inUse = (problem as { code?: string }).code === "EADDRINUSE";
    const there = `, or use the Redis there with --redis-url redis://127.0.0.1:${port}`;
    const Refusal = err instanceof UnavailableError ? UnavailableError : ConfigError;
    throw new Refusal(
      `${err.message}; start Redis on another port with --redis-port <port>` +
        // The data folder too when the Redis there is another stack's: one AOF per server.
        `${inUse ? ` (and --data-dir DIR if it is another stack's)${there}` : ""}`,
      { cause: problem },
    );
  }
  output.line("system", `starting redis-server on 127.0.0.1:${port}, data in ${options.dataDir}`);
  return startRedisServer({
    port,
    dataDir: options.dataDir,
    persistence: true,
    detached: true,
    onLine: (line) => output.line("redis.1", line),
  });
}

/** `bun bin/worker.ts --redis-url URL --queue Q --prefix P --name stack-worker-<i> …` */
export function workerCmd(options: StackOptions, url: string, index: number): string[] {
  const cmd = [...ownCommand("worker"), ...queueFlags(options, url)];
  cmd.push("--name", `stack-worker-${index}`);
  // Our name prefix already makes each line unparseable as JSON: ask for the human format.
  cmd.push("--log-format", "human");
  if (options.allowPrivate) cmd.push("--allow-private");
  if (options.concurrency !== undefined) cmd.push("--concurrency", String(options.concurrency));
  return cmd;
}

/**
 * The dashboard, as the seed's Procfile ran rq-dashboard beside the workers. It reads
 * COURIER_DASHBOARD_HOST/PORT/TOKEN from the environment it inherits. A port in use is not
 * worth failing the stack for: it is said once and the stack runs without it. Returns its URL.
 */
async function startDashboardProcess(
  supervisor: Supervisor,
  output: Output,
  options: StackOptions,
  url: string,
  env: Record<string, string | undefined> | undefined,
): Promise<string | undefined> {
  const port = Number(process.env.COURIER_DASHBOARD_PORT || dashboardDefaults.port);
  const host = process.env.COURIER_DASHBOARD_HOST || dashboardDefaults.host;
  if (port !== 0 && isLoopback(host) && !(await isPortFree(port))) {
    output.line(
      "system",
      `dashboard not started: port ${port} is in use (set COURIER_DASHBOARD_PORT)`,
    );
    return undefined;
  }
  const cmd = [...ownCommand("dashboard"), ...queueFlags(options, url)];
  supervisor.start({
    name: "dashboard",
    cmd,
    env,
    restartDelayMs: RESTART_DELAY_MS,
    finalCodes: FINAL,
  });
  return `http://${host}:${port}`;
}

function queueFlags(options: StackOptions, url: string): string[] {
  return ["--redis-url", url, "--queue", options.queue, "--prefix", options.prefix];
}

async function printBanner(
  output: Output,
  options: StackOptions,
  url: string,
  redis: LocalRedis | undefined,
  dashboard: string | undefined,
): Promise<void> {
  const say = (text: string) => output.line("system", text);
  const [where, ...more] = redis
    ? await redis.describe()
    : ["not started here: its data is its own"];
  say(`redis    ${maskUrl(url)}  ${where}`);
  for (const line of more) say(`         ${line}`);
  say(`workers  ${options.workers} on queue "${options.queue}", each restarted 2 s after it exits`);
  if (dashboard) say(`dashboard ${dashboard}  (metrics at ${dashboard}/metrics)`);
  say("ready. In another terminal, try:");
  const flags = clientFlags(options, url);
  say(`  ${shownCommand("trigger")} --url https://example.org/${flags}`);
  say(`  ${shownCommand("result")} --jobid <id>${flags}`);
  say(`Ctrl-C stops the workers (they finish their jobs first)${redis ? ", then Redis" : ""}.`);
}

/** The flags trigger and result need to reach our workers: none when env and defaults do. */
function clientFlags(options: StackOptions, url: string): string {
  const env = process.env;
  let flags = "";
  // Masked: a password is never printed; whoever copies the line types it in.
  if (url !== (env.REDIS_URL || defaults.redisUrl)) flags += ` --redis-url ${maskUrl(url)}`;
  if (options.queue !== (env.COURIER_QUEUE || defaults.queue)) flags += ` --queue ${options.queue}`;
  if (options.prefix !== (env.COURIER_PREFIX || defaults.prefix)) {
    flags += ` --prefix ${options.prefix}`;
  }
  return flags;
}

async function shutdown(
  output: Output,
  supervisor: Supervisor,
  redis: LocalRedis | undefined,
): Promise<void> {
  output.line("system", `SIGTERM to workers (up to ${WORKER_STOP_GRACE_MS / 1000} s to drain)`);
  await supervisor.stop(WORKER_STOP_GRACE_MS);
  await redis?.stop((text) => output.line("system", text));
}
