// `dead`: list, show, requeue and purge dead letters. `bin/dead.ts` parses arguments and
// prints; the reading and the text are here.

import { formatDuration } from "../admin/duration.ts";
import type { DeadLetter, DeadPage, RequeueAllTally } from "../admin/letters.ts";
import { cutText, safeText, shownId } from "../safe-text.ts";
import { dateMs, isoOrNull } from "../time.ts";
import type { JobRecord } from "../types.ts";
import { attemptJson, formatAttempt, jobJson } from "./format.ts";
import { table } from "./table.ts";

/** A dead letter as JSON: `deadAt` as an ISO string. */
export function letterJson(l: DeadLetter): Record<string, unknown> {
  return {
    id: l.id,
    task: l.task,
    error: l.error,
    attempts: l.attempts,
    deadAt: isoOrNull(l.deadAt),
    payload: l.payload,
    entryId: l.entryId,
  };
}

/** One row per letter, newest first: id, task, attempts, age, error (cut to one line). */
export function formatDeadPage(page: DeadPage, now: number): string {
  if (page.letters.length === 0) return "no dead letters";
  const rows = page.letters.map((l) => [
    l.id,
    l.task,
    String(l.attempts ?? "-"),
    dateMs(l.deadAt) === null ? "-" : `${formatDuration(now - l.deadAt)} ago`,
    oneLine(l.error, 100),
  ]);
  const lines = table([["ID", "TASK", "ATTEMPTS", "DIED", "ERROR"], ...rows]);
  // The next page starts after this one's last letter (in every shard of a sharded queue).
  if (page.next !== null)
    lines.push(`… ${page.total} dead in all: --cursor ${page.next} for the next page`);
  return lines.map((l) => safeText(l)).join("\n");
}

/** A dead letter and, when its record is still kept, the job's attempts. */
export function formatDeadLetter(l: DeadLetter, job: JobRecord | null): string {
  const lines = [
    `id:        ${l.id}`,
    `task:      ${l.task}`,
    `attempts:  ${l.attempts ?? "-"}`,
    `died:      ${isoOrNull(l.deadAt) ?? "-"}`,
    `error:     ${l.error}`,
    `payload:   ${JSON.stringify(l.payload)}`,
  ];
  if (job && job.history.length > 0) {
    lines.push("history:", ...job.history.map((a) => `  ${formatAttempt(a)}`));
  }
  // The error and the payload come from outside: no control character reaches the terminal.
  return lines.map((l) => safeText(l)).join("\n");
}

export function deadLetterJson(l: DeadLetter, job: JobRecord | null): Record<string, unknown> {
  return {
    ...letterJson(l),
    job: job ? jobJson(job) : null,
    history: job ? job.history.map(attemptJson) : [],
  };
}

/**
 * `requeue --all`'s line for the letters it left because their job's record or failed value is
 * a key of another type: how many, and the first by id and reason (`requeue ID` says each);
 * null when none was left.
 */
export function unreadableLeftLine(t: RequeueAllTally): string | null {
  if (t.first === null) return null;
  const jobs = `${t.unreadable} dead job${t.unreadable === 1 ? "" : "s"}`;
  const whose = t.unreadable === 1 ? "its" : "their";
  // shownId: a letter written by hand may name a 1 MB id (the line was 1 MB).
  const which = `the first, ${shownId(t.first.id)}: ${safeText(t.first.reason)}`;
  return `${jobs} not requeued, ${whose} keys unreadable (dead requeue ID says each); ${which}`;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? cutText(flat, max - 1) : flat;
}
