// The processes a stack supervises: its workers and its dashboard, their command lines (this
// executable or bin/ files, pointed at the stack's queue and prefix), their environment (the
// stack's Redis URL in REDIS_URL) and how each is restarted when it exits on its own.
import { REDIS_URL_FROM } from "../cli/url-source.ts";
import { isLoopback } from "../dashboard/auth.ts";
import { dashboardDefaults } from "../dashboard/options.ts";
import type { Output } from "./_output.ts";
import { ownCommand } from "./_self.ts";
import type { StackOptions } from "./options.ts";
import { isPortFree } from "./redis-server.ts";
import type { Supervisor } from "./supervisor.ts";

// The seed's Procfile loop waited 2 s before restarting `rq worker`: long enough not to spin
// while Redis is down, short enough that nobody notices.
const RESTART_DELAY_MS = 2_000;
/**
 * A worker or dashboard exiting 2 (bad usage: an option, a queue of another shard count, a
 * name in use) would fail the same way each restart: the stack stops instead, exit 2.
 */
const FINAL = [2];

/** Starts the stack's workers, `worker.1` to `worker.<n>`. */
export function startWorkers(
  supervisor: Supervisor,
  options: StackOptions,
  env: Record<string, string | undefined>,
): void {
  workerNames(options.workers).forEach((name, i) => {
    const cmd = workerCmd(options, i + 1);
    supervisor.start({ name, cmd, env, restartDelayMs: RESTART_DELAY_MS, finalCodes: FINAL });
  });
}

/** The workers' names in the output's columns: `worker.1` to `worker.<count>`. */
export function workerNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `worker.${i + 1}`);
}

/** `bun bin/worker.ts --queue Q --prefix P --name stack-worker-<i> …` */
export function workerCmd(options: StackOptions, index: number): string[] {
  const cmd = [...ownCommand("worker"), ...queueFlags(options)];
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
export async function startDashboardProcess(
  supervisor: Supervisor,
  output: Output,
  options: StackOptions,
  env: Record<string, string | undefined>,
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
  const cmd = [...ownCommand("dashboard"), ...queueFlags(options)];
  supervisor.start({
    name: "dashboard",
    cmd,
    env,
    restartDelayMs: RESTART_DELAY_MS,
    finalCodes: FINAL,
  });
  return `http://${host}:${port}`;
}

/**
 * The environment of a worker or the dashboard: ours, with the stack's Redis in REDIS_URL (and a
 * cluster's shard count). Never --redis-url: a password on a command line is anyone's to read
 * (`ps`, /proc/<pid>/cmdline), the environment only the user's. REDIS_URL_FROM says the stack
 * set it, so a child's connection error does not tell the user to unset a variable they never
 * set (lib/cli/url-source.ts).
 */
export function childEnv(
  url: string,
  extra: Record<string, string> = {},
  parent: Record<string, string | undefined> = process.env,
): Record<string, string | undefined> {
  return { ...parent, ...extra, REDIS_URL: url, [REDIS_URL_FROM]: "stack" };
}

/** The flags that point a worker or the dashboard at the stack's queue and prefix. */
function queueFlags(options: StackOptions): string[] {
  return ["--queue", options.queue, "--prefix", options.prefix];
}
