// `queue.ts`: pause, resume, empty and list a queue's jobs by state. `bin/queue.ts` parses
// arguments and prints; the checks of a queue and the text are here.

import type { Admin } from "../admin/admin.ts";
import type { JobRow, JobState, JobsPage } from "../admin/jobs.ts";
import type { Emptied } from "../engine/empty.ts";
import { CourierError } from "../errors.ts";
import { cutText, ID_SHOWN_MAX, safeText } from "../safe-text.ts";
import { isoOrNull } from "../time.ts";
import { table } from "./table.ts";

/** Refuses (exit 4) a queue that does not exist, as `info --queue` does: a typo, not a queue. */
export async function mustExist(admin: Admin): Promise<void> {
  if (await admin.exists()) return;
  const { queue, prefix } = admin.options;
  throw new CourierError("ENOTFOUND", `no queue ${queue} under prefix ${prefix}`);
}

/** What `pause` and `resume` say: whether it changed, and what the workers do now. */
export function pauseLine(queue: string, paused: boolean, changed: boolean): string {
  const name = safeText(queue);
  if (!changed) return paused ? `queue ${name}: already paused` : `queue ${name}: not paused`;
  return paused
    ? `queue ${name} paused: its workers start no new job within a second; jobs running finish`
    : `queue ${name} resumed: its workers take jobs again within a second`;
}

export function emptiedJson(queue: string, e: Emptied) {
  return { queue, removed: e.waiting + e.delayed + e.parked, ...e };
}

export function emptiedLine(queue: string, e: Emptied): string {
  const n = e.waiting + e.delayed + e.parked;
  const parts = `${e.waiting} waiting, ${e.delayed} delayed, ${e.parked} parked`;
  return `removed ${n} job${n === 1 ? "" : "s"} from queue ${safeText(queue)} (${parts}); running jobs untouched`;
}

/** What each state's time is. */
const WHEN: Record<JobState, string> = {
  waiting: "ENQUEUED",
  running: "ENQUEUED",
  delayed: "DUE",
  finished: "ENDED",
  failed: "ENDED",
  canceled: "ENDED",
  dead: "DIED",
  "waiting-for-parents": "ENQUEUED",
};

export function jobRowJson(r: JobRow): Record<string, unknown> {
  const row: Record<string, unknown> = {
    id: r.id,
    task: r.task,
    at: isoOrNull(r.at),
    attempt: r.attempt,
  };
  if (r.worker !== undefined) row.worker = r.worker;
  return row;
}

/** One row per job: id, task, time, attempt (and the worker of a running one). */
export function formatJobsPage(page: JobsPage): string {
  if (page.jobs.length === 0) return `no ${page.state} jobs`;
  const running = page.state === "running";
  const header = ["ID", "TASK", WHEN[page.state], "ATTEMPT", ...(running ? ["WORKER"] : [])];
  const rows = page.jobs.map((r) => [
    r.id,
    r.task || "-",
    isoOrNull(r.at) ?? "-",
    r.attempt === null ? "-" : String(r.attempt),
    // The last column, not cut by table(): a consumer name written by hand may be 1 MB.
    ...(running ? [cutText(r.worker ?? "-", ID_SHOWN_MAX)] : []),
  ]);
  const lines = table([header, ...rows]);
  if (page.next !== null) lines.push(`… more: --cursor ${page.next} for the next page`);
  // Ids, tasks and worker names come from outside: no control character reaches the terminal.
  return lines.map((l) => safeText(l)).join("\n");
}
