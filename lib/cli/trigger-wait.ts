// `trigger --wait`: wait for the jobs enqueued to end, read them back a page at a time in input
// order, and say what a wait that ran out of time left unended.
import { STATUS_CHUNK } from "../engine/status.ts";
import type { Queue } from "../queue/queue.ts";
import { type JobRecord, TERMINAL_STATUSES } from "../types.ts";

export interface Waited {
  timedOut: boolean;
  /** Every job read back finished. */
  allFinished: boolean;
  /** Jobs read back that had not ended (neither finished nor failed), of `total`. */
  open: number;
  total: number;
  /** The first of them, for the one-job line. */
  firstOpen?: { id: string; status: string };
}

/** A page of jobs read back, in the order of the ids asked for; null for an unknown id. */
export type WaitedJobs = { id: string; record: JobRecord | null }[];

/**
 * Waits for the jobs to end (Infinity = no limit), then reads them back in input order, a page
 * of STATUS_CHUNK at a time handed to `onJobs` (awaited): records are never all held at once.
 */
export async function waitForAll(
  queue: Queue,
  ids: readonly string[],
  seconds: number,
  onJobs: (jobs: WaitedJobs) => Promise<void> | void,
  onProgress?: (ended: number, total: number) => void,
  onJobProgress?: (id: string, value: unknown) => void,
): Promise<Waited> {
  const timeoutMs = Number.isFinite(seconds) ? seconds * 1_000 : 2 ** 31;
  const wait = { timeoutMs, onProgress, onJobProgress, keepRecords: false };
  const { pending } = await queue.waitForJobs(ids, wait);
  const waited: Waited = { timedOut: false, allFinished: true, open: 0, total: 0 };
  for (let at = 0; at < ids.length; at += STATUS_CHUNK) {
    const page = ids.slice(at, at + STATUS_CHUNK);
    const records = await queue.getJobs(page);
    const jobs = page.map((id, i) => ({ id, record: records[i] ?? null }));
    for (const { id, record } of jobs) {
      waited.total++;
      if (record?.status !== "finished") waited.allFinished = false;
      if (!record || TERMINAL_STATUSES.has(record.status)) continue;
      waited.open++;
      waited.firstOpen ??= { id, status: record.status };
    }
    await onJobs(jobs);
  }
  // Timed out only if a job read back is still open: one the wait left pending (its deadline
  // fell part-way through its first look) may have ended, and is reported as it ended.
  waited.timedOut = pending.length > 0 && waited.open > 0;
  return waited;
}

/** What a wait that ran out of time left unended, as `result --wait` says it (stderr, exit 5). */
export function timedOutLine(waited: Waited, seconds: number): string {
  const one = waited.open === 1 && waited.total === 1 ? waited.firstOpen : undefined;
  if (one) return `job ${one.id} is still ${one.status} after waiting ${seconds} s`;
  return `${waited.open} of ${waited.total} jobs still not finished or failed after waiting ${seconds} s`;
}
