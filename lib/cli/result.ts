// `result`: read one job, optionally waiting for it to end, and say which exit code fits.
import { JobNotFoundError, WaitTimeoutError } from "../errors.ts";
import type { Queue } from "../queue.ts";
import { type JobRecord, TERMINAL_STATUSES } from "../types.ts";

/**
 * The job's record. With `waitS`, blocks until it has finished or failed (Infinity = no
 * limit). Throws JobNotFoundError for an unknown id, WaitTimeoutError when time runs out.
 */
export async function fetchResult(queue: Queue, id: string, waitS?: number): Promise<JobRecord> {
  const job = await queue.mustGetJob(id);
  if (waitS === undefined || TERMINAL_STATUSES.has(job.status)) return job;
  const timeoutMs = Number.isFinite(waitS) ? waitS * 1_000 : 2 ** 31;
  const { pending } = await queue.waitForJobs([id], { timeoutMs });
  const now = await queue.getJob(id);
  if (!now) throw new JobNotFoundError(id);
  if (pending.length > 0) {
    throw new WaitTimeoutError(`job ${id} is still ${now.status} after waiting ${waitS} s`);
  }
  return now;
}
