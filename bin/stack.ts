#!/usr/bin/env bun
// The local stack, like the seed's `honcho start`: a redis-server with its AOF on (unless
// REDIS_URL names a Redis to use; with --cluster, a local 3+3 Redis Cluster), N workers and the
// dashboard, their output prefixed with their names.
import { defineCommand } from "citty";
import { defaults } from "../lib/config.ts";
import { dashboardDefaults } from "../lib/dashboard/options.ts";
import { parseStackArgs, stackDefaults } from "../lib/stack/options.ts";
import { runStack, type StackEnd } from "../lib/stack/stack.ts";
import { commonArgs, EXIT, runCli, runsWithStdoutClosed } from "./_cli.ts";

const command = defineCommand({
  meta: {
    name: "stack",
    description:
      "Run Redis, workers and the dashboard in the foreground (--cluster: a local 3+3 Redis Cluster instead of one redis-server). Ctrl-C/SIGTERM: workers drain (up to 30 s), then Redis writes its AOF and stops; Ctrl-C again, a second or more later, kills everything. " +
      `The dashboard listens on COURIER_DASHBOARD_HOST (default ${dashboardDefaults.host}) port COURIER_DASHBOARD_PORT (default ${dashboardDefaults.port}; skipped if that port is busy); COURIER_DASHBOARD_TOKEN turns its actions on. ` +
      "Exits 2 on a bad option, a Redis port it cannot listen on, or a data folder another stack's Redis uses or that it cannot keep data in (a file); 5 when the cluster is not ready within 30 s; 6 when redis-server is missing, the Redis given does not answer, or Redis (every node of the cluster) dies.",
  },
  args: {
    workers: {
      type: "string",
      description: `Worker processes to run, each restarted 2 s after it exits (default ${stackDefaults.workers}); one exiting 2 (bad usage) stops the stack, exit 2`,
    },
    "redis-port": {
      type: "string",
      description: `Port for the local redis-server, on 127.0.0.1 (default ${stackDefaults.redisPort})`,
    },
    cluster: {
      type: "boolean",
      description: `Start a local Redis Cluster instead of one redis-server: 3 masters + 3 replicas on free 127.0.0.1 ports, AOF on, node timeout 1 s, cluster-require-full-coverage no; the workers and the dashboard get REDIS_URL=redis+cluster://… (its seed URL) and COURIER_SHARDS=${stackDefaults.clusterShards} (or yours). Its data stays in --data-dir (default ${stackDefaults.clusterDataDir}): the next --cluster stack there starts the same nodes on the same ports`,
    },
    "redis-url": {
      type: "string",
      description:
        "Use this Redis and start none, redis://[user:password@]host:port; it must answer first (env REDIS_URL; default: start one)",
    },
    "data-dir": {
      type: "string",
      description: `Where the local Redis keeps its AOF (default ${stackDefaults.dataDir} in the repository, ${stackDefaults.clusterDataDir} with --cluster; for dist/courier, in the current directory). One Redis per folder: another live one there (its redis.pid, or the cluster.json of a cluster) exits 2`,
    },
    queue: {
      type: "string",
      description: `Queue the workers and the dashboard serve (env COURIER_QUEUE; default ${defaults.queue})`,
    },
    prefix: commonArgs.prefix,
    "allow-private": {
      type: "boolean",
      description: "Let workers fetch loopback, private and link-local addresses (default off)",
    },
    concurrency: {
      type: "string",
      description: `Jobs each worker runs at once (default: the worker's, ${defaults.concurrency})`,
    },
  },
  async run({ args }) {
    process.exit(STACK_EXITS[await runStack(parseStackArgs(args))]);
  },
});
runsWithStdoutClosed(command); // its output is a log

// A stack that could not start throws, and bin/_cli.ts maps the error like any command's.
const STACK_EXITS: Record<StackEnd, number> = {
  stopped: EXIT.ok,
  "redis-exited": EXIT.connect,
  // As a shell reports a process ended by Ctrl-C (128 + SIGINT).
  killed: 130,
  // A worker or the dashboard exited 2 (bad usage): restarting it would only fail again.
  "gave-up": EXIT.usage,
};

export { command };

if (import.meta.main) await runCli(command);
