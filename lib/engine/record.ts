// Reading a job's record (the `job:<id>` hash): the history of its runs, and the
// alphabet of job ids. Where a job is now is read by lib/engine/status.ts.

import { dateMs } from "../time.ts";
import type { AttemptRecord } from "../types.ts";

const OUTCOMES = new Set(["finished", "retrying", "failed", "abandoned", "released"]);

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
        startedAt: dateMs(toInt(startedAt || null)),
        endedAt: dateMs(toInt(endedAt || null)),
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

const JOB_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Job ids go into key names: keep them to a safe, printable alphabet. */
export function isValidJobId(id: string): boolean {
  return JOB_ID.test(id);
}
