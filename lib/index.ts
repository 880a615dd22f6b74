// Courier's public API: enqueue your own tasks, run workers with your own handlers, read
// results, and operate queues (Admin, startDashboard). Everything else in lib/ is internal
// (files starting with `_`) or used by bin/.

export type { BatchOutcome, EnqueuedBatch, EnqueueStreamOptions } from "./_bulk.ts";
export type { DeadLetter, DeadPage, RequeueVerdict } from "./admin/_dead.ts";
export type { Counter, QueueCounts, RecentCounts } from "./admin/_stats.ts";
export type { WorkerInfo, WorkerState } from "./admin/_workers.ts";
export { Admin, type AdminConfig, type Overview, type RecentFailure } from "./admin/admin.ts";
export { formatDuration, parseDuration } from "./admin/duration.ts";
export type { MinutePoint } from "./admin/window.ts";
export { backoffMs } from "./backoff.ts";
export { defaults, type ProducerOptions, type QueueOptions, type WorkerOptions } from "./config.ts";
export { maskUrl } from "./connect.ts";
export { type Dashboard, type DashboardOptions, startDashboard } from "./dashboard/server.ts";
export {
  ConfigError,
  ConnectError,
  CourierError,
  type ErrorCode,
  InputError,
  InvalidUrlError,
  JobNotFoundError,
  JobTimeoutError,
  PermanentError,
  RedisFullError,
  RetryableError,
  WaitTimeoutError,
} from "./errors.ts";
export { type QueueKeys, queueKeys } from "./keys.ts";
export { createLogger, type LogFormat, type Logger } from "./log.ts";
export type { Enqueued, JobSpec } from "./producer.ts";
export { Queue, type QueueConfig } from "./queue.ts";
export type { WaitOptions, WaitResult } from "./results.ts";
export {
  createWordCountTask,
  WORDCOUNT_TASK,
  type WordCountOptions,
  type WordCountPayload,
  type WordCountResult,
} from "./tasks/wordcount/index.ts";
export {
  type AttemptRecord,
  defineTask,
  type JobInfo,
  type JobRecord,
  type JobStatus,
  type Task,
} from "./types.ts";
export { Worker, type WorkerConfig } from "./worker.ts";
