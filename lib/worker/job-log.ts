// The log line of a job whose outcome was written (lib/worker/attempt-ends.ts), by the script's
// reply: only for a logger that writes lines (a silent one gets none, its fields never built).

import type { Logger } from "../log.ts";
import { BURIED, CORRUPT, NOT_MINE, type Outcome, RERUN, UNRECORDED, WRITTEN } from "./outcomes.ts";
import type { RunningJob } from "./running-job.ts";

/** The log line of a written outcome (only for a logger that writes lines). */
export function logWritten(
  log: Logger,
  outcome: Outcome,
  reply: number,
  job: RunningJob | undefined,
  canceled: boolean,
): void {
  const fields = {
    job: outcome.jobId,
    task: job?.task,
    ms: job ? Math.round(performance.now() - job.startedMono) : undefined,
    attempt: job ? `${job.attempt}/${job.maxAttempts}` : undefined,
  };
  if (canceled) {
    // The canceled outcome was there first: nothing of this run is written.
    log.log("info", "canceled (the task's outcome is ignored)", fields);
  } else if (outcome.kind === "finish") {
    const bad = reply < 0;
    log.log(bad ? "error" : "info", FINISHED[reply] ?? "finished", fields);
  } else {
    const level = reply === 2 || reply < 0 ? "error" : "warn";
    log.log(level, FAILED[reply] ?? "failed", { ...fields, error: outcome.error });
  }
}

/** Log events by script reply (lib/engine/lua/finish.lua and fail.lua). */
const FINISHED: Record<number, string> = {
  1: "finished",
  0: "finished (duplicate run, first result kept)",
  [CORRUPT]: "corrupt record: result not recorded, entry acknowledged (see dead letters)",
  [UNRECORDED]: "result not recorded; entry handed over for a claim",
  [BURIED]: "result not recorded (Redis refused it); job dead-lettered with the refusal",
  [NOT_MINE]: "result not recorded; the job is no longer this worker's (left to whoever has it)",
  [WRITTEN]:
    "result recorded, then the call failed (Redis keeps a script's writes); entry acknowledged",
};
const FAILED: Record<number, string> = {
  1: "failed, will retry",
  [RERUN]: "failed, will retry at once (Redis is full)",
  2: "failed",
  0: "failed (job already ended)",
  [CORRUPT]: "corrupt record: failure not recorded, entry acknowledged (see dead letters)",
  [UNRECORDED]: "failure not recorded; entry handed over for a claim",
  [BURIED]: "failure not recorded (Redis refused it); job dead-lettered with the refusal",
  [NOT_MINE]: "failure not recorded; the job is no longer this worker's (left to whoever has it)",
  [WRITTEN]:
    "failure written, then the call failed (Redis keeps a script's writes); entry acknowledged",
};
