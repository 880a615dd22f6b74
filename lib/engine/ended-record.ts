// An ended job's record (finished, failed or canceled), read by lib/engine/status.ts: its
// outcome value, with the earlier runs its record keeps; and the field parsers both share.
import { jsonDepthProblem } from "../queue/payload-depth.ts";
import type { AttemptRecord, JobRecord } from "../types.ts";
import { autoIdMs } from "./keys.ts";
import type { OutcomeValue } from "./outcome.ts";
import { parseHistory } from "./record.ts";

/** A job's record or stream entry, field by field. */
export type Fields = ReadonlyMap<string, string>;

/**
 * A JSON field's value; text that is not JSON as the text itself, and so is JSON nested deeper
 * than any payload may be (PAYLOAD_DEPTH_MAX: a hand edit, no enqueue takes one): JSON.parse
 * reads it, but every printing of it (`result`, `dead list --json`, the dashboard) took
 * JSON.stringify 5 s to fail with a RangeError, a stack trace.
 */
export function json(text: string | null | undefined): unknown {
  if (text === undefined || text === null) return null;
  if (jsonDepthProblem(text) !== undefined) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text; // written by hand or corrupt: shown as text rather than fail the read
  }
}

/** A whole number field (at most 15 digits), else null. */
export function int(v: string | undefined): number | null {
  return v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : null;
}

/**
 * A stalled worker's run that a claim wrote as abandoned, and that then finished first after
 * all: the record's last run is `abandoned` by the same worker at the same attempt as the final
 * run (a claim hands the job on as the next attempt, and a later run of the same attempt by the
 * same name comes only after a release or requeue, which write a run of their own in between).
 * One run, shown once, as it ended (docs/internals.md, "The history").
 */
function sameRun(earlier: AttemptRecord | undefined, last: AttemptRecord): boolean {
  return (
    earlier?.outcome === "abandoned" &&
    earlier.worker === last.worker &&
    earlier.attempt === last.attempt
  );
}

/** Runs a job's history shows (include/history.lua keeps as many in the record). */
const HISTORY_KEPT = 20;

/** A finished, failed or canceled job: the outcome value, plus earlier runs from its record. */
export function endedJob(id: string, o: OutcomeValue, record: Fields): JobRecord {
  const startedAt = o.runMs === null ? null : o.endedAt - o.runMs;
  const history = parseHistory(record);
  // A canceled value has no run time: the run it cut short (if any) has no end of its own.
  if (o.worker !== null && o.runMs !== null && o.status !== "canceled") {
    const last: AttemptRecord = {
      attempt: o.attempt ?? 0,
      worker: o.worker,
      startedAt,
      endedAt: o.endedAt,
      error: o.status === "failed" ? o.text : null,
      outcome: o.status,
    };
    if (sameRun(history.at(-1), last)) history.pop();
    history.push(last);
    // The record keeps the last 20 runs (HISTORY_KEPT, include/history.lua); with the final
    // run from the outcome value that would be 21.
    if (history.length > HISTORY_KEPT) history.splice(0, history.length - HISTORY_KEPT);
  }
  return {
    id,
    task: o.task,
    status: o.status,
    payload: json(o.payload),
    attempts: o.attempt ?? 0,
    maxAttempts: o.maxAttempts ?? int(record.get("m")) ?? 0,
    enqueuedAt: o.enqueuedAt ?? autoIdMs(id) ?? int(record.get("q")),
    startedAt,
    endedAt: o.endedAt,
    worker: o.worker,
    result: o.status === "finished" ? json(o.text) : null,
    error: o.status === "failed" ? o.text : null,
    history,
    runAt: null,
    progress: null,
    // Where a canceled job was (cancel.lua): `canceled (while started)`.
    ...(o.status === "canceled" ? { note: `while ${o.text.split("\n")[0]}` } : {}),
  };
}
