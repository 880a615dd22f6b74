// Reading job records: the hash fields as stored, and the typed record we hand out.

import { toMap } from "../redis/reply.ts";
import type { AttemptRecord, JobRecord, JobStatus } from "../types.ts";

const STATUSES = new Set<JobStatus>(["queued", "started", "retrying", "finished", "failed"]);

/** Turns an HGETALL reply (flat field/value list) into a record; null when the hash is gone. */
export function parseJob(id: string, flat: readonly string[]): JobRecord | null {
  const f = toMap(flat);
  const task = f.get("task");
  const status = f.get("status");
  if (task == null || status == null) return null;
  const record: JobRecord = {
    id,
    task,
    status: STATUSES.has(status as JobStatus) ? (status as JobStatus) : "queued",
    payload: parseJson(f.get("payload")),
    attempts: toInt(f.get("attempt")) ?? 0,
    maxAttempts: toInt(f.get("max_attempts")) ?? 1,
    enqueuedAt: toInt(f.get("enqueued_at")),
    startedAt: toInt(f.get("started_at")),
    endedAt: toInt(f.get("ended_at")),
    worker: f.get("worker") ?? null,
    result: parseJson(f.get("result")),
    error: f.get("error") ?? null,
    history: parseHistory(f),
  };
  // Parked by a worker without its task while no live worker had it (lib/engine/lua/start-7.lua);
  // the field goes when a worker that has the task takes it back.
  const waitingFor = f.get("waiting_for");
  if (record.status === "queued" && waitingFor != null) {
    record.note = `no live worker has task ${JSON.stringify(waitingFor)}`;
  }
  return record;
}

const OUTCOMES = new Set(["finished", "retrying", "failed"]);

/**
 * The attempts, oldest first, from the history fields `h:<run>`, `h:<run>:e` and `h:<run>:x`
 * (the format is described once, in docs/internals.md, "History").
 */
export function parseHistory(fields: ReadonlyMap<string, string>): AttemptRecord[] {
  const runs = new Map<number, { start?: string; end?: string; error?: string }>();
  for (const [name, value] of fields) {
    const m = /^h:(\d+)(?::([ex]))?$/.exec(name);
    if (!m) continue;
    const runNo = Number(m[1]);
    const r = runs.get(runNo) ?? {};
    runs.set(runNo, r);
    if (m[2] === "e") r.end = value;
    else if (m[2] === "x") r.error = value;
    else r.start = value;
  }
  return [...runs.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, r]) => {
      const [attempt, startedAt, worker] = splitN(r.start ?? "", 3);
      const [endedAt, outcome] = splitN(r.end ?? "", 2);
      return {
        attempt: toInt(attempt) ?? 0,
        worker: worker || null,
        startedAt: toInt(startedAt || null),
        endedAt: toInt(endedAt || null),
        error: r.error ?? null,
        outcome: OUTCOMES.has(outcome!) ? (outcome as AttemptRecord["outcome"]) : null,
      };
    });
}

/** Splits on the first n - 1 spaces: the last part keeps its own (a worker name may hold one). */
function splitN(value: string, n: number): string[] {
  const parts: string[] = [];
  let rest = value;
  while (parts.length < n - 1) {
    const at = rest.indexOf(" ");
    if (at < 0) break;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  parts.push(rest);
  return parts;
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
