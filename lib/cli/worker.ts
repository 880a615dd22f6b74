// `worker`: run a worker until it is told to stop. The first SIGINT/SIGTERM/SIGHUP stops it
// gracefully (in-flight jobs may finish, the rest are released); a second exits at once, and
// the leases then lapse so other workers claim the jobs as after a crash. A queue it serves that
// gets its first high or low priority job meanwhile makes it stop gracefully and start again,
// the new start reading the queue's levels (lib/worker/levels-watch.ts): that stop lets every
// running job finish, however long (a job cut at the grace period would run again from its
// start, for nothing an operator asked), and a signal meanwhile cuts it to the usual grace.
import { INTERVAL_LIMIT_MS } from "../config.ts";
import { clipError, describeError } from "../errors.ts";
import { createLogger, type LogFormat } from "../log.ts";
import type { Task } from "../types.ts";
import { Worker, type WorkerConfig } from "../worker/worker.ts";
import { onStopSignals, sentBySelf } from "./stop-signals.ts";

export interface RunWorkerOptions extends Omit<WorkerConfig, "tasks" | "logger"> {
  // biome-ignore lint/suspicious/noExplicitAny: tasks of any payload type live side by side
  tasks: readonly Task<any, any>[];
  logFormat: LogFormat | "auto";
}

/**
 * A grace period every running job ends within: the longest time limit of an attempt (the
 * task's own, else jobTimeoutMs; the attempt ends at its abort), and a second for its outcome.
 */
function untilRunsEndMs(worker: Worker, tasks: RunWorkerOptions["tasks"]): number {
  const limits = tasks.map((t) => t.timeoutMs ?? 0);
  return Math.min(Math.max(worker.options.jobTimeoutMs, ...limits) + 1_000, INTERVAL_LIMIT_MS);
}

/** Starts a worker, wires the signals, and resolves when it has stopped. */
export async function runWorker(options: RunWorkerOptions): Promise<Worker> {
  const { logFormat, ...config } = options; // the CLI's own, no option of the Worker's
  const format = logFormat === "auto" ? (process.stdout.isTTY ? "human" : "json") : logFormat;
  const logger = createLogger(format);
  // The handlers go in before the start, not after it returns: until a handler is installed a
  // SIGTERM kills the process outright (the default action), and a supervisor stopping a worker
  // that is still starting, or has just logged `worker started` and not yet got past the
  // `await` (a loaded machine deschedules it there), would see it killed, not drained. A first
  // signal during the start stops the worker as soon as it has started.
  let worker: Worker | null = null;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // Its output closed (stopSelf): a stop, never the second signal that gives up on the drain.
    if (sentBySelf(signal) && signals > 0) return;
    signals++;
    if (signals > 1) {
      logger.log("warn", "second signal: exiting now; unfinished jobs will be claimed by others", {
        signal,
      });
      process.off("exit", onExit); // this exit is ours, said above
      process.exit(130);
    }
    logger.log("info", "stopping (send the signal again to exit at once)", { signal });
    if (worker) void worker.stop();
  };
  // What a task's code throws outside its promise (from a timer it set, a rejection it left
  // unhandled) reaches no attempt: one log line, escaped as every line, and the worker goes on
  // with its other jobs. The runtime printed it raw on stderr (its control characters reaching
  // the terminal), with a stack trace.
  const onStray = (err: unknown) => {
    logger.log("error", "uncaught error; the worker goes on", {
      error: clipError(describeError(err)),
    });
  };
  // A task's code that ends the process (`process.exit()`) while the worker runs leaves its
  // running jobs to be claimed by others after claimIdleMs; exit 0 there would tell a
  // supervisor that restarts on failure only that the worker ended well: 70 instead, said.
  // Another code is kept, and said too: else the log just stopped mid-run.
  function onExit(code: number) {
    const exit = code === 0 ? 70 : code;
    logger.log(
      "error",
      `the process is exiting while the worker runs (a task called process.exit?); exit ${exit}: its running jobs are claimed by other workers after the claim timeout`,
      { code: exit },
    );
    process.exitCode = exit;
  }
  const offSignals = onStopSignals(onSignal);
  process.on("exit", onExit);
  process.on("uncaughtException", onStray);
  process.on("unhandledRejection", onStray);
  try {
    for (;;) {
      let levels = false;
      const onLevels = () => {
        levels = true;
        if (worker && signals === 0) void worker.stop(untilRunsEndMs(worker, config.tasks));
      };
      worker = await Worker.start({ ...config, logger, onLevels });
      if (signals > 0) void worker.stop();
      await worker.stopped;
      // Redis refused it for good (a key of another type): one line and exit 6 (bin/_cli.ts);
      // its name taken by another start while it stalled: one line and exit 2.
      if (worker.failure) throw worker.failure;
      if (!levels || signals > 0) return worker;
      logger.log("info", "starting again, to serve the queue's priority levels", {});
    }
  } finally {
    offSignals();
    process.off("exit", onExit);
    process.off("uncaughtException", onStray);
    process.off("unhandledRejection", onStray);
  }
}
