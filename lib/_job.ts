// Reading job records: the hash fields as stored, and the typed record we hand out.
import type { AttemptRecord, JobRecord, JobStatus } from "./types.ts";

/** Fields read for a record, in HMGET order. */
export const JOB_FIELDS = [
  "task",
  "payload",
  "status",
  "attempt",
  "max_attempts",
  "enqueued_at",
  "started_at",
  "ended_at",
  "worker",
  "result",
  "error",
  "history",
] as const;

const STATUSES = new Set<JobStatus>(["queued", "started", "retrying", "finished", "failed"]);

/** Turns an HMGET reply (JOB_FIELDS order) into a record; null when the hash does not exist. */
export function parseJob(id: string, values: readonly (string | null)[]): JobRecord | null {
  const [task, payload, status, attempt, max, enq, started, ended, worker, result, error, history] =
    values;
  if (task == null || status == null) return null;
  return {
    id,
    task,
    status: STATUSES.has(status as JobStatus) ? (status as JobStatus) : "queued",
    payload: parseJson(payload),
    attempts: toInt(attempt) ?? 0,
    maxAttempts: toInt(max) ?? 1,
    enqueuedAt: toInt(enq),
    startedAt: toInt(started),
    endedAt: toInt(ended),
    worker: worker ?? null,
    result: parseJson(result),
    error: error ?? null,
    history: parseHistory(history),
  };
}

const OUTCOMES = new Set(["finished", "retrying", "failed"]);

/** The `history` field (a JSON array written by the Lua scripts) as typed attempts. */
export function parseHistory(text: string | null | undefined): AttemptRecord[] {
  const list = parseJson(text);
  if (!Array.isArray(list)) return [];
  return list
    .filter((a): a is Record<string, unknown> => a !== null && typeof a === "object")
    .map((a) => ({
      attempt: typeof a.attempt === "number" ? a.attempt : 0,
      worker: typeof a.worker === "string" ? a.worker : null,
      startedAt: typeof a.start === "number" ? a.start : null,
      endedAt: typeof a.end === "number" ? a.end : null,
      error: typeof a.error === "string" ? a.error : null,
      outcome: OUTCOMES.has(a.outcome as string) ? (a.outcome as AttemptRecord["outcome"]) : null,
    }));
}

function toInt(v: string | null | undefined): number | null {
  if (v == null) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function parseJson(v: string | null | undefined): unknown {
  if (v == null) return null;
  try {
    return JSON.parse(v);
  } catch {
    return v; // stored by hand or by an older version: show it as text rather than fail
  }
}

const JOB_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Job ids go into key names: keep them to a safe, printable alphabet. */
export function isValidJobId(id: string): boolean {
  return JOB_ID.test(id);
}
