#!/usr/bin/env bun
// Process jobs: joins the consumer group and runs the built-in tasks (the word count and its
// batch summary, wordcount-summary), and the tasks of the modules given with --tasks.
import { defineCommand } from "citty";
import { repeatedValues } from "../lib/cli/args.ts";
import { loadTaskModules } from "../lib/cli/task-modules.ts";
import { runWorker } from "../lib/cli/worker.ts";
import { defaults, PREFETCH_LIMIT, WORKER_NAME } from "../lib/config.ts";
import { HANDOVER_SUFFIX } from "../lib/engine/keys.ts";
import { ConfigError } from "../lib/errors.ts";
import { safeText, shownInput } from "../lib/safe-text.ts";
import { createWordCountTask } from "../lib/tasks/wordcount/index.ts";
import { createWordCountSummaryTask } from "../lib/tasks/wordcount/summary.ts";
import { withPortHint } from "../lib/worker/health.ts";
import {
  commonArgs,
  durabilityArg,
  durabilityArgs,
  intArg,
  queueArgs,
  runCli,
  runsWithStdoutClosed,
  shardsArg,
  shardsArgs,
  UsageError,
} from "./_cli.ts";
import { orderArg, orderArgs } from "./_order.ts";

const command = defineCommand({
  meta: {
    name: "worker",
    description:
      "Process jobs until stopped. SIGINT/SIGTERM/SIGHUP: finish in-flight jobs (up to --shutdown-grace-ms), release the rest, exit 0; a second signal (a second or more after the first: copies of one hang-up or Ctrl-C count once) exits at once.",
  },
  args: {
    concurrency: {
      type: "string",
      description: `Jobs run at once, over all the queue's shards (and all the queues, given several) (default ${defaults.concurrency})`,
    },
    burst: { type: "boolean", description: "Exit 0 once nothing is waiting, delayed or in flight" },
    schedules: {
      type: "boolean",
      default: true,
      description:
        "Fire the recurring schedules of the queues served (schedule.ts; each tick makes one job however many workers fire it); --no-schedules leaves them to other workers or `schedule.ts run`",
    },
    name: {
      type: "string",
      description:
        "Consumer name in the group, printable, no spaces, not ending in ~gone; refused while a live worker has it; a worker that stalled and finds it taken by a later start stops reading and exits 2 (default <host>-<pid>-<random>)",
    },
    "claim-idle-ms": {
      type: "string",
      description: `How long a job's lease may go unrenewed before another worker takes it over (default ${defaults.claimIdleMs})`,
    },
    "job-timeout-ms": {
      type: "string",
      description: `Run-time limit of one attempt (default ${defaults.jobTimeoutMs})`,
    },
    "max-holds": {
      type: "string",
      description: `Times a job may be held by its host saying "slow down" (a 429, or a 503 with Retry-After: its host held that long, no attempt spent) before the next such answer fails it for good (default ${defaults.maxHolds})`,
    },
    prefetch: {
      type: "string",
      description: `Jobs held beyond --concurrency, read but not started, so the next starts the moment one ends (below concurrency 16, for one queue of one shard without priority levels or rate limits; a held job shows as started and waits at most --prefetch-wait-ms, then goes back to the queue); 0 = one call per job, nothing held (default ${defaults.prefetch})`,
    },
    "prefetch-wait-ms": {
      type: "string",
      description: `Longest a prefetched job waits while the one before it runs, before it goes back to the queue (no attempt spent); none is prefetched after a job that ran this long (default ${defaults.prefetchWaitMs})`,
    },
    "shutdown-grace-ms": {
      type: "string",
      description: `On SIGINT/SIGTERM/SIGHUP, how long in-flight jobs may run before they are released (default ${defaults.shutdownGraceMs})`,
    },
    "allow-private": {
      type: "boolean",
      description:
        "Allow fetching loopback, private and link-local addresses (off: such URLs fail)",
    },
    "health-port": {
      type: "string",
      description:
        "Serve /livez and /healthz (200 when connected and reading, else 503 with a JSON reason, e.g. Redis out of memory) on this port (default: off; a port in use exits 2)",
    },
    "health-host": {
      type: "string",
      description: `With --health-port: the address the health server binds to (default ${defaults.healthHost}, so orchestrators reach it)`,
    },
    tasks: {
      type: "string",
      description:
        "A module of your own tasks to run as well (its default export a task, an array or object of tasks, and/or named exports that are tasks); a path relative to the current directory; give it once per module",
    },
    "log-format": {
      type: "string",
      description:
        "human or json (one JSON object per line); default: human on a terminal, else json",
    },
    ...shardsArgs,
    ...durabilityArgs,
    ...commonArgs,
    queue: {
      type: "string",
      description: `Queue name, or several separated by commas, served in that order: high,default,low takes from high whenever it has jobs (env COURIER_QUEUE; default ${defaults.queue})`,
    },
    ...orderArgs,
  },
  async run({ args, rawArgs }) {
    const logFormat = args["log-format"] ?? "auto";
    if (!["human", "json", "auto"].includes(logFormat)) {
      throw new ConfigError(`--log-format must be human or json, got "${logFormat}"`);
    }
    const builtIn = [
      createWordCountTask({ allowPrivate: Boolean(args["allow-private"]) }),
      createWordCountSummaryTask(), // the callback of `trigger --file … --summary`
    ];
    const tasks = await loadTaskModules(repeatedValues(rawArgs, "tasks"), builtIn);
    await runWorker({
      ...queueArgs(args),
      shards: shardsArg(args),
      durability: durabilityArg(args),
      tasks,
      concurrency: intArg(args.concurrency, "concurrency", 1, 10_000),
      burst: Boolean(args.burst),
      schedules: args.schedules !== false,
      name: workerName(args.name),
      claimIdleMs: intArg(args["claim-idle-ms"], "claim-idle-ms", 30, 1_000_000_000),
      jobTimeoutMs: intArg(args["job-timeout-ms"], "job-timeout-ms", 1, 1_000_000_000),
      shutdownGraceMs: intArg(args["shutdown-grace-ms"], "shutdown-grace-ms", 0, 1_000_000_000),
      maxHolds: intArg(args["max-holds"], "max-holds", 0, 1_000),
      prefetch: intArg(args.prefetch, "prefetch", 0, PREFETCH_LIMIT),
      prefetchWaitMs: intArg(args["prefetch-wait-ms"], "prefetch-wait-ms", 1, 1_000_000_000),
      ...healthArgs(args),
      logFormat: logFormat as "human" | "json" | "auto",
      ...orderArg(args),
    }).catch((err) => {
      throw withPortHint(err, "give another --health-port");
    });
    // Stopped: a task that ignored its abort signal may still hold timers; do not wait for it.
    process.exit(0);
  },
});
runsWithStdoutClosed(command); // its output is a log

/** The health server's port and address: an address alone would be ignored (no server), so it is refused. */
function healthArgs(args: { "health-port"?: string; "health-host"?: string }) {
  const healthPort = intArg(args["health-port"], "health-port", 1, 65_535);
  const healthHost = args["health-host"];
  if (healthHost !== undefined && healthPort === undefined) {
    throw new UsageError(
      "--health-host goes with --health-port: without a port there is no health server",
    );
  }
  return { healthPort, healthHost };
}

/**
 * Names show in logs, `info` and CLIENT LIST, whose CLIENT SETNAME takes printable ASCII only
 * (no spaces): Worker.start's rule (WORKER_NAME), so a name Redis would refuse is a usage error.
 */
function workerName(name: string | undefined): string | undefined {
  if (name !== undefined && !WORKER_NAME.test(name)) {
    throw new UsageError(
      `--name must be 1-200 printable ASCII characters without spaces, got "${shownInput(name)}"`,
    );
  }
  if (name?.endsWith(HANDOVER_SUFFIX)) {
    throw new UsageError(
      `--name must not end in "${HANDOVER_SUFFIX}" (reserved for the jobs of a worker that died), got "${safeText(name)}"`,
    );
  }
  return name;
}

export { command };

if (import.meta.main) await runCli(command);
