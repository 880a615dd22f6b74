// `trigger` of an id that exists already (`--id`, `--id-from-url`): nothing was enqueued, so what
// is printed is the existing job, as stored: its status and its task (which may not be the task
// given, nor still queued: a canceled job keeps its id until its record expires).

import { safeText, shownId } from "../safe-text.ts";
import type { JobStatus } from "../types.ts";

/** The stored job behind an id that was not enqueued again; null: its record expired since. */
export interface Existing {
  status: JobStatus;
  task: string;
}

/** Reads the jobs' records: only those not created (one read, none when every job is new). */
export async function existingOf(
  queue: {
    getJobs(ids: readonly string[]): Promise<({ status: JobStatus; task: string } | null)[]>;
  },
  jobs: readonly { id: string; created: boolean }[],
): Promise<Map<string, Existing | null>> {
  const ids = jobs.filter((j) => !j.created).map((j) => j.id);
  const found = new Map<string, Existing | null>();
  if (ids.length === 0) return found;
  const records = await queue.getJobs(ids);
  for (const [i, id] of ids.entries()) {
    const r = records[i];
    found.set(id, r ? { status: r.status, task: r.task } : null);
  }
  return found;
}

/** The stderr line for one job that exists already. */
export function existedLine(id: string, existing: Existing | null | undefined): string {
  const what = existing
    ? ` (${existing.status}, task ${shownId(existing.task)})`
    : " (its record expired since)";
  return `trigger: job ${safeText(id)} exists already${what}: nothing enqueued (result ${safeText(id)} shows it)`;
}

/** What `--json` adds for a job that exists already: the stored status and task. */
export function existedJson(existing: Existing | null | undefined): Record<string, unknown> {
  return existing ? { status: existing.status, task: existing.task } : { status: null };
}
