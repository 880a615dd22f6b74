// The local stack, honcho-style: one redis-server (unless REDIS_URL names another; with
// --cluster, a local 3+3 Redis Cluster) and N workers, their output interleaved under their
// names. Stop order matters: workers first, so they can record the jobs they are running, then
// Redis, which writes its AOF on the way out. This file is the stack's life (start, wait, stop);
// its Redis is _stack-redis.ts, its workers and dashboard _supervised.ts, its banner _banner.ts.
import { printBanner } from "./_banner.ts";
import { clusterNodeNames, type LocalRedis } from "./_local-redis.ts";
import { createOutput, type Output, wantColour } from "./_output.ts";
import { listenForSignals, type Signals } from "./_signals.ts";
import { checkGivenRedis, preflight, startOwnRedis } from "./_stack-redis.ts";
import { childEnv, startDashboardProcess, startWorkers, workerNames } from "./_supervised.ts";
import type { StackOptions } from "./options.ts";
import { Supervisor } from "./supervisor.ts";

// Above the worker's own shutdownGraceMs (25 s), so a worker releases its unfinished jobs itself
// before we resort to SIGKILL.
const WORKER_STOP_GRACE_MS = 30_000;

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
    // The URL in REDIS_URL, off the command lines; a cluster's shard count too.
    const env = childEnv(url, redis?.env);
    const supervisor = new Supervisor({ output });
    startWorkers(supervisor, options, env);
    const dashboard = await startDashboardProcess(supervisor, output, options, env);
    await printBanner(output, options, url, redis, dashboard);
    return await runUntilStopped(output, supervisor, redis, signals);
  } catch (err) {
    redis?.kill(); // detached: it would outlive us
    throw err;
  } finally {
    signals.dispose();
  }
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

async function shutdown(
  output: Output,
  supervisor: Supervisor,
  redis: LocalRedis | undefined,
): Promise<void> {
  output.line("system", `SIGTERM to workers (up to ${WORKER_STOP_GRACE_MS / 1000} s to drain)`);
  await supervisor.stop(WORKER_STOP_GRACE_MS);
  await redis?.stop((text) => output.line("system", text));
}
