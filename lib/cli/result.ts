// `result`: read one job, optionally waiting for it to end, and say which exit code fits.
import { JobNotFoundError, WaitTimeoutError } from "../errors.ts";
import type { Queue } from "../queue/queue.ts";
import { type JobRecord, TERMINAL_STATUSES } from "../types.ts";
import { noLiveWorkerNote } from "./live-task.ts";

/** Gave up waiting; `record` is the job as it was then (printed before exiting 5). */
export class JobWaitTimeoutError extends WaitTimeoutError {
  constructor(
    message: string,
    readonly record: JobRecord,
  ) {
    super(message);
  }
}

/**
 * The job's record. With `waitS`, blocks until it has finished or failed (Infinity = no
 * limit), telling `onJobProgress` the progress it has and each it reports meanwhile. Throws
 * JobNotFoundError for an unknown id, JobWaitTimeoutError (with the record as it stands) when
 * time runs out.
 */
export async function fetchResult(
  queue: Queue,
  id: string,
  waitS?: number,
  onJobProgress?: (value: unknown) => void,
): Promise<JobRecord> {
  const job = await queue.mustGetJob(id);
  if (waitS === undefined || TERMINAL_STATUSES.has(job.status)) return job;
  // A job no worker has taken: say so when no live worker has its task (the wait would not end).
  if (job.status !== "started") {
    await noLiveWorkerNote(queue, job.task, {
      command: "result",
      waits: "the job waits",
      waiting: true,
    });
  }
  const timeoutMs = Number.isFinite(waitS) ? waitS * 1_000 : 2 ** 31;
  const { ended } = await queue.waitForJobs([id], {
    timeoutMs,
    onJobProgress: onJobProgress && ((_, value) => onJobProgress(value)),
  });
  // The wait read the record that ended it: no second read (one round trip less to wake).
  const record = ended.has(id) ? ended.get(id) : await queue.getJob(id);
  if (!record) throw new JobNotFoundError(id);
  if (!ended.has(id)) {
    const message = `job ${id} is still ${record.status} after waiting ${waitS} s`;
    throw new JobWaitTimeoutError(message, record);
  }
  return record;
}
