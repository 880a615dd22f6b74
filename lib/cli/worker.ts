// `worker`: run a worker until it is told to stop. The first SIGINT/SIGTERM stops it
// gracefully (in-flight jobs may finish, the rest are released); a second exits at once, and
// the leases then lapse so other workers claim the jobs as after a crash.
import { createLogger, type LogFormat } from "../log.ts";
import type { Task } from "../types.ts";
import { Worker, type WorkerConfig } from "../worker/worker.ts";

export interface RunWorkerOptions extends Omit<WorkerConfig, "tasks" | "logger"> {
  // biome-ignore lint/suspicious/noExplicitAny: tasks of any payload type live side by side
  tasks: readonly Task<any, any>[];
  logFormat: LogFormat | "auto";
}

/** Starts a worker, wires the signals, and resolves when it has stopped. */
export async function runWorker(options: RunWorkerOptions): Promise<Worker> {
  const format =
    options.logFormat === "auto" ? (process.stdout.isTTY ? "human" : "json") : options.logFormat;
  const logger = createLogger(format);
  const worker = await Worker.start({ ...options, logger });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.log("warn", "second signal: exiting now; unfinished jobs will be claimed by others", {
        signal,
      });
      process.exit(130);
    }
    logger.log("info", "stopping (send the signal again to exit at once)", { signal });
    void worker.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  await worker.stopped;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  return worker;
}
