// A job as it runs in this worker (lib/worker/running.ts): the entry as read, its attempt in
// progress, and when it started. Made in one literal per job, in one order.

import type { Attempt } from "./attempt.ts";
import { type Startable, startable } from "./entries.ts";
import type { RunSinks } from "./progress.ts";

export interface RunningJob extends Startable {
  /** The attempt in progress: its signal, deadline and one-shot outcome report. */
  current: Attempt;
  startedMono: number;
  /**
   * The worker's own clock (`now`) at launch: the run time written with the outcome is a
   * difference on one host's clock (never compared with another's: the end time is Redis').
   */
  startedAt: number;
  /** Its job was canceled (lib/worker/cancels.ts): the outcome is ignored, logged as such. */
  canceled?: boolean;
  /** Where its context's progress and log lines go; ends its progress reports. */
  sinks: RunSinks | null;
}

/**
 * A job as it starts running: its fields and the run's in one literal, in one order (no spread,
 * and no properties added after: each would grow the object again, per job). `current` is set
 * by the caller, whose attempt needs the object.
 */
export function runningJob(j: Startable, startedAt: number, startedMono: number): RunningJob {
  const running: RunningJob = {
    entryId: j.entryId,
    jobId: j.jobId,
    task: j.task,
    payload: j.payload,
    attempt: j.attempt,
    maxAttempts: j.maxAttempts,
    runNo: j.runNo,
    hasRecord: j.hasRecord,
    deliveries: j.deliveries,
    current: null as unknown as Attempt,
    startedMono,
    startedAt,
    canceled: false,
    sinks: null,
  };
  if (j.limitKey !== undefined) running.limitKey = j.limitKey;
  return running;
}

/** The attempt after `r`, run again at once on a full Redis (fail.lua run_again). */
export function nextAttempt(r: RunningJob): Startable {
  // fail.lua set the entry's delivery count one up (XCLAIM … RETRYCOUNT): so is the fence.
  return startable(r, r.attempt + 1, r.runNo + 1, r.deliveries + 1);
}
