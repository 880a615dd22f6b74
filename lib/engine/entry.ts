// A v2 stream entry carries the job (docs/internals.md, "The stream entry"): `t` task, `p` payload JSON, `a`
// attempts used before this entry, `m` max attempts, and only when needed `i` job id, `n` runs
// already in the history, `o` options JSON. The common entry has exactly the first four, the
// same field names as the stream's first entry, so Redis stores only their values.
// The worker validates every entry it reads: one that fails is buried alone (bury.lua), the
// rest of its batch runs.
import { limitKeyProblem } from "./limits.ts";
import { isValidJobId } from "./record.ts";

/** What a producer puts in an entry (a fresh job: `a` is 0). */
export interface EntryJob {
  /** The stream entry id. */
  entryId: string;
  /** `i` when present, else the entry id and its shard's suffix (an auto id). */
  jobId: string;
  task: string;
  /** The payload as stored (JSON text): the worker parses it, not this module. */
  payload: string;
  /** Attempts used before this entry (`a`). */
  attemptsBefore: number;
  maxAttempts: number;
  /** Runs already written to the record's history (`n`, 0 when absent). */
  runsBefore: number;
  /** Per-job options JSON (`o`), or null. */
  options: string | null;
  /** Whether the job has a record (`job:<id>`): it came with an `i`. */
  hasRecord: boolean;
  /** The job's limit key (`k`); absent for most jobs. */
  limitKey?: string;
}

export type EntryCheck =
  | { ok: true; job: EntryJob }
  /** `id`: the job id when known (no `i`: the auto id; a valid `i`), else ''. */
  | { ok: false; entryId: string; id: string; problem: string };

/** The fields of a fresh entry, in the order the stream's master entry has them. */
export function entryFields(
  task: string,
  payload: string,
  maxAttempts: number,
  extra: { id?: string; runsBefore?: number; options?: string; limitKey?: string } = {},
): string[] {
  const f = ["t", task, "p", payload, "a", "0", "m", String(maxAttempts)];
  if (extra.id !== undefined) f.push("i", extra.id);
  if (extra.runsBefore) f.push("n", String(extra.runsBefore));
  if (extra.options !== undefined) f.push("o", extra.options);
  if (extra.limitKey !== undefined) f.push("k", extra.limitKey);
  return f;
}

/** A whole number from 0 up, written as digits only (what the scripts write), or null. */
function count(v: string | undefined): number | null {
  if (v === undefined || !/^\d{1,15}$/.test(v)) return null;
  return Number(v);
}

/** An entry's fields by name (the last of a name repeated wins); undefined: absent. */
interface Fields {
  t?: string;
  p?: string;
  a?: string;
  m?: string;
  i?: string;
  n?: string;
  o?: string;
  k?: string;
}

/**
 * An entry read and checked, in one object (the worker's read path makes no other per entry
 * before its job): its fields, its job id (the auto id without `i`; '' when `i` is not valid),
 * and what is wrong with it (null: nothing; then `a` and `m` are digits, `t` and `p` present).
 */
export interface CheckedEntry extends Fields {
  id: string;
  problem: string | null;
}

/**
 * Reads and checks one entry as XREADGROUP/XRANGE return it (`fields` flat). `idSuffix` is the
 * shard's (keys.ts): an entry without `i` is the job whose auto id is the entry id and it.
 */
export function checkEntry(
  entryId: string,
  fields: readonly string[] | null,
  idSuffix = "",
): CheckedEntry {
  const f: CheckedEntry = {
    t: undefined,
    p: undefined,
    a: undefined,
    m: undefined,
    i: undefined,
    n: undefined,
    o: undefined,
    k: undefined,
    id: "",
    problem: null,
  };
  // One pass over the flat list, no Map per entry; only the one-letter names above count.
  for (let i = 0; fields && i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.length === 1 && name in f) f[name as keyof Fields] = fields[i + 1]!;
  }
  const rawId = f.i;
  f.id = rawId === undefined ? entryId + idSuffix : isValidJobId(rawId) ? rawId : "";
  f.problem = flaw(f, f.id);
  return f;
}

/** checkEntry's verdict as a job (or what is wrong), for callers that want the whole job. */
export function parseEntry(
  entryId: string,
  fields: readonly string[] | null,
  idSuffix = "",
): EntryCheck {
  const f = checkEntry(entryId, fields, idSuffix);
  const id = f.id;
  if (f.problem) return { ok: false, entryId, id, problem: f.problem };
  const job: EntryJob = {
    entryId,
    jobId: id,
    task: f.t!,
    payload: f.p!,
    attemptsBefore: count(f.a)!,
    maxAttempts: count(f.m)!,
    runsBefore: count(f.n) ?? 0,
    options: f.o ?? null,
    hasRecord: f.i !== undefined,
  };
  // Set only when present (no spread in the literal: the common entry keeps its plain shape).
  if (f.k !== undefined) job.limitKey = f.k;
  return { ok: true, job };
}

/** What is wrong with an entry's fields (the dead letter says `corrupt record: <this>`). */
function flaw(f: Fields, id: string): string | null {
  if (!f.t) return "no task";
  if (f.p === undefined) return "no payload";
  const a = count(f.a);
  if (a === null) return f.a !== undefined ? "attempt count is not a number" : "no attempt count";
  const m = count(f.m);
  if (m === null || m < 1) {
    return f.m !== undefined ? "max_attempts is not a number of 1 or more" : "no max_attempts";
  }
  if (a >= m) return `attempts used up (${a} of ${m})`;
  if (id === "") return "job id is not valid";
  if (f.n !== undefined && count(f.n) === null) return "runs is not a number";
  if (f.k !== undefined && limitKeyProblem(f.k)) return "limit key is not valid";
  return null;
}
