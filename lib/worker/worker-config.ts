// A Worker's own options (WorkerConfig's, beside resolveOptions' own), checked at Worker.start
// before anything connects: a logger without `log` would throw at the first line logged, far
// from the call, and `schedules: "false"` (a string, so truthy) would fire the schedules.

import type { DefaultKey } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { checkLogger, keysOf, kind } from "../option-keys.ts";
import { checkTasks } from "../task-check.ts";
import type { WorkerConfig } from "./worker.ts";

/** WorkerConfig's keys that are no option of resolveOptions. */
export const WORKER_KEYS = keysOf<Omit<WorkerConfig, DefaultKey>>()([
  "tasks",
  "logger",
  "queues",
  "order",
  "weights",
  "onLevels",
  "schedules",
]);

/** Refuses tasks, a logger, onLevels or schedules a worker cannot use (ConfigError, one line). */
export function checkWorkerConfig(config: Pick<WorkerConfig, "tasks">): void {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new ConfigError(`options must be an object, got ${kind(config)}`);
  }
  checkTasks(config.tasks);
  const { logger, onLevels, schedules } = config as { [key: string]: unknown };
  checkLogger(logger);
  if (onLevels !== undefined && typeof onLevels !== "function") {
    throw new ConfigError(`onLevels must be a function, got ${kind(onLevels)}`);
  }
  if (schedules !== undefined && typeof schedules !== "boolean") {
    throw new ConfigError(`schedules must be true or false, got ${kind(schedules)}`);
  }
}
