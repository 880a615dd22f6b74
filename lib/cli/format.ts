// How jobs are shown: a block of aligned lines for people, a plain object for --json.

import { safeText } from "../safe-text.ts";
import { isoOrNull } from "../time.ts";
import type { AttemptRecord, JobRecord } from "../types.ts";

/** The job as one JSON object: times as ISO strings, `attempts` as a number. */
export function jobJson(job: JobRecord): Record<string, unknown> {
  return {
    id: job.id,
    task: job.task,
    status: job.status,
    ...(job.note ? { note: job.note } : {}),
    // A high or low job's level; a normal job's JSON is as it was.
    ...(job.priority ? { priority: job.priority } : {}),
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    payload: job.payload,
    result: job.result,
    error: job.error,
    worker: job.worker,
    progress: job.progress ?? null,
    enqueuedAt: isoOrNull(job.enqueuedAt),
    startedAt: isoOrNull(job.startedAt),
    endedAt: isoOrNull(job.endedAt),
    // When a scheduled job (or a retry on its back-off) is due, by Redis' clock; else null.
    runAt: isoOrNull(job.runAt),
    history: job.history.map(attemptJson),
  };
}

/** One attempt as JSON: times as ISO strings. */
export function attemptJson(a: AttemptRecord): Record<string, unknown> {
  return {
    attempt: a.attempt,
    worker: a.worker,
    startedAt: isoOrNull(a.startedAt),
    endedAt: isoOrNull(a.endedAt),
    outcome: a.outcome,
    error: a.error,
  };
}

/**
 * A block of `label: value` lines; the result's own fields are listed under `result:` (those
 * with no value left out). Every line is safe to print: the page's title, the HTTP status text
 * and the error come from outside, and their control characters are shown escaped.
 */
export function formatJob(job: JobRecord): string {
  const took = job.startedAt && job.endedAt ? ` (ran ${job.endedAt - job.startedAt} ms)` : "";
  const rows: [string, unknown][] = [
    ["id", job.id],
    ["task", job.task],
    ["status", job.note ? `${job.status} (${job.note})` : job.status],
    ["priority", job.priority ?? null],
    ["attempts", `${job.attempts} of ${job.maxAttempts}`],
    ["payload", compact(job.payload)],
    ["enqueued", isoOrNull(job.enqueuedAt)],
    ["runs at", isoOrNull(job.runAt)],
    ["started", isoOrNull(job.startedAt)],
    ["ended", job.endedAt ? `${isoOrNull(job.endedAt)}${took}` : null],
    ["worker", job.worker],
    ["progress", formatProgress(job.progress)],
    ["error", job.error],
  ];
  const lines = align(rows.filter(([, v]) => v != null && v !== ""));
  if (job.history.length > 0) {
    lines.push("history:");
    const last = job.history.length - 1;
    const running = (i: number) => i === last && job.status === "started";
    lines.push(...job.history.map((a, i) => `  ${formatAttempt(a, running(i))}`));
  }
  if (job.status === "finished") {
    lines.push("result:");
    const result = job.result;
    if (result && typeof result === "object" && !Array.isArray(result)) {
      const fields = Object.entries(result as Record<string, unknown>)
        .map(([k, v]) => [k, compact(v)] as [string, unknown])
        .filter(([, v]) => v !== "");
      lines.push(...align(fields).map((l) => `  ${l}`));
    } else {
      lines.push(`  ${compact(result)}`);
    }
  }
  return lines.map((l) => safeText(l)).join("\n");
}

/**
 * `#2  worker w1  <start> → <end> (120 ms)  retrying: boom`. An attempt with no end that is not
 * `running` was cut short: its worker stopped (released it, or died and the job was taken over).
 */
export function formatAttempt(a: AttemptRecord, running = false): string {
  const took = a.startedAt != null && a.endedAt != null ? ` (${a.endedAt - a.startedAt} ms)` : "";
  const end = a.endedAt != null ? isoOrNull(a.endedAt) : "…";
  const how = a.outcome ?? (running ? "running" : "cut short (its worker stopped)");
  const error = a.error ? `: ${a.error}` : "";
  return safeText(
    `#${a.attempt}  worker ${a.worker ?? "?"}  ${isoOrNull(a.startedAt) ?? "?"} → ${end}${took}  ${how}${error}`,
  );
}

/** A progress value as shown: `42%` for a number, `k=v` for an object, "" for none. */
export function formatProgress(value: unknown): string {
  if (typeof value === "number") return `${Math.round(value * 10) / 10}%`;
  return compact(value);
}

/** One line per job, for bulk output: id, status, then the gist of the result or error. */
export function formatJobLine(job: JobRecord): string {
  const r = job.result as Record<string, unknown> | null;
  const gist =
    job.status === "failed"
      ? `error: ${job.error ?? "unknown"}`
      : r && typeof r === "object" && "words" in r
        ? `${r.words} ${r.words === 1 ? "word" : "words"}  ${String(r.finalUrl ?? r.url ?? "")}`
        : compact(job.result);
  return safeText(`${job.id}  ${job.status.padEnd(8)}  ${gist}`);
}

function align(rows: [string, unknown][]): string[] {
  const width = Math.max(0, ...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${String(v)}`);
}

/** Scalars as they are; word lists as `word (n)`; small objects as `k=v`; the rest as JSON. */
function compact(v: unknown): string {
  if (v == null) return "";
  if (typeof v !== "object") return String(v);
  if (Array.isArray(v)) {
    if (v.every((x) => x && typeof x === "object" && "word" in x && "count" in x)) {
      return v.map((x) => `${x.word} (${x.count})`).join(", ");
    }
    return JSON.stringify(v);
  }
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.every(([, x]) => x == null || typeof x !== "object")) {
    return entries.map(([k, x]) => `${k}=${String(x)}`).join(" ");
  }
  return JSON.stringify(v);
}
