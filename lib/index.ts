// Courier's public API: enqueue your own tasks, run workers with your own handlers, read
// results, and operate queues (Admin, startDashboard). Everything else in lib/ is internal
// (files starting with `_`) or used by bin/.

export { Admin, type AdminConfig, type Overview, type RecentFailure } from "./admin/admin.ts";
export type { DeleteResult, RequeueResult, UnreadableId } from "./admin/dead-actions.ts";
export { formatDuration, parseDuration } from "./admin/duration.ts";
export {
  JOB_STATES,
  type JobRow,
  type JobState,
  type JobsPage,
  type JobsQuery,
} from "./admin/jobs.ts";
export type { DeadLetter, DeadPage, RequeueVerdict } from "./admin/letters.ts";
export type { Counter, QueueCounts, RecentCounts } from "./admin/stats.ts";
export type { MinutePoint } from "./admin/window.ts";
export type { WorkerInfo, WorkerState } from "./admin/workers.ts";
export {
  type Durability,
  defaults,
  type ProducerOptions,
  type QueueOptions,
  type WorkerOptions,
} from "./config.ts";
export { type Dashboard, type DashboardOptions, startDashboard } from "./dashboard/server.ts";
export type { CanceledFrom, CancelVerdict } from "./engine/cancel.ts";
export type { OnParentFailure } from "./engine/child.ts";
export type { Emptied } from "./engine/empty.ts";
export type { HeldKey } from "./engine/held-keys.ts";
export { holdKey } from "./engine/hold-key.ts";
export type { Level as Priority } from "./engine/keys.ts";
export { type LimitKeys, limitKeys, type QueueKeys, queueKeys } from "./engine/keys.ts";
export type { Limits, LimitsChange } from "./engine/limits.ts";
export { formatRate, parseRate, type Rate } from "./engine/rates.ts";
export {
  CanceledError,
  ConfigError,
  ConnectError,
  CourierError,
  type ErrorCode,
  HeldError,
  InputError,
  InvalidUrlError,
  JobNotFoundError,
  JobTimeoutError,
  LostReplyError,
  NoAnswerError,
  NotReplicatedError,
  PermanentError,
  RedisFullError,
  RedisRefusedError,
  RetryableError,
  UnavailableError,
  WaitTimeoutError,
} from "./errors.ts";
export { compareFences, isFence } from "./fence/fence.ts";
export { type CommandClient, fencedSet } from "./fence/store.ts";
export { createLogger, type LogFormat, type Logger } from "./log.ts";
export type { BatchOptions, EnqueuedBatchWithCallback } from "./queue/batch.ts";
export type { BatchOutcome, EnqueuedBatch, EnqueueStreamOptions } from "./queue/bulk.ts";
export { MAX_PARENTS } from "./queue/depends.ts";
export type { QueueEvent } from "./queue/event-read.ts";
export type { EventStream, EventsOptions } from "./queue/events.ts";
export type { Enqueued, JobSpec } from "./queue/prepare.ts";
export { Queue, type QueueConfig } from "./queue/queue.ts";
export type { WaitOptions, WaitResult } from "./queue/wait.ts";
export { maskUrl } from "./redis/url.ts";
export type { PassResult } from "./schedule/fire.ts";
export {
  type Scheduler,
  type SchedulerConfig,
  startScheduler,
} from "./schedule/scheduler.ts";
export {
  type ScheduleInfo,
  Schedules,
  type SchedulesConfig,
  type SkipQueue,
} from "./schedule/schedules.ts";
export type { MissedPolicy, ScheduleDef, ScheduleSpec } from "./schedule/spec.ts";
export {
  createWordCountTask,
  WORDCOUNT_TASK,
  type WordCountOptions,
  type WordCountPayload,
  type WordCountResult,
} from "./tasks/wordcount/index.ts";
export {
  createWordCountSummaryTask,
  WORDCOUNT_SUMMARY_TASK,
  type WordCountSummary,
} from "./tasks/wordcount/summary.ts";
export { type RunTaskOptions, runTask, type TaskLogLine, type TaskRun } from "./testing.ts";
export {
  type AttemptRecord,
  defineTask,
  type JobInfo,
  type JobRecord,
  type JobStatus,
  type ParentOutcome,
  type ProgressValue,
  type Task,
  type TaskContext,
} from "./types.ts";
export { PROGRESS_MAX_BYTES } from "./worker/context.ts";
export { backoffMs } from "./worker/retry-policy.ts";
export { Worker, type WorkerConfig } from "./worker/worker.ts";
