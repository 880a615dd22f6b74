// What comes off the stream: plain reads of new entries (XREADGROUP … >; nothing is written
// when a job starts, docs/internals.md, "2. Read"), and the sorting of what was read into jobs to
// run, entries to bury (they fail the entry check, lib/engine/entry.ts) and entries whose
// task this worker lacks (left for a worker that has it).

import type { Claimed } from "../engine/claim.ts";
import { type CheckedEntry, checkEntry, type EntryJob, parseEntry } from "../engine/entry.ts";
import type { TakenEntry } from "../engine/finish.ts";
import { createGroup } from "../engine/group.ts";
import { GROUP, type QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";

/** A job to run, as its delivery says. */
export interface Startable {
  entryId: string;
  jobId: string;
  task: string;
  payload: string;
  /** Attempt this run is: `a` + the entry's delivery count. */
  attempt: number;
  maxAttempts: number;
  /** This run's number in the job's history (`n` + deliveries: never reset, unlike `attempt`). */
  runNo: number;
  /** Redis' delivery count of the entry for this run (attempt − `a`): with the entry id, the fence. */
  deliveries: number;
  /** The job has a record (`job:<id>`): its entry had `i`, or it came from a claim. */
  hasRecord: boolean;
  /** The job's limit key (the entry's `k`), when it has one. */
  limitKey?: string;
}

/** An entry that cannot run: dead-lettered alone (`corrupt record: <problem>`). */
export interface BadEntry {
  entryId: string;
  /** The job id when known, else ''. */
  id: string;
  problem: string;
}

/** An entry of a task this worker lacks. */
export interface Lacked {
  entryId: string;
  jobId: string;
  task: string;
}

/** What a batch of deliveries sorts into. */
export interface Sorted {
  run: Startable[];
  bad: BadEntry[];
  lacked: Lacked[];
}

/**
 * Creates the consumer group if it is missing, reading from the start of the stream (jobs may
 * predate it). Works on a full Redis too (lib/engine/lua/group.lua).
 */
export async function ensureGroup(client: Redis, keys: QueueKeys): Promise<void> {
  await createGroup(client, keys);
}

/** Reads up to `count` new entries for this consumer; blocks up to `blockMs` when given. */
export async function readNew(
  client: Redis,
  keys: QueueKeys,
  consumer: string,
  count: number,
  blockMs?: number,
): Promise<TakenEntry[]> {
  const block = blockMs === undefined ? [] : ["BLOCK", String(blockMs)];
  const reply = await client.sendCommand<[string, TakenEntry[]][] | null>([
    ...["XREADGROUP", "GROUP", GROUP, consumer, "COUNT", String(count), ...block],
    ...["STREAMS", keys.stream, ">"],
  ]);
  return reply?.[0]?.[1] ?? [];
}

/**
 * Sorts fresh deliveries (delivery count 1): attempt = a + 1, run = n + 1. `idSuffix`: the
 * shard's (keys.ts), which an auto id carries after its entry id.
 */
export function sortFresh(
  entries: readonly TakenEntry[],
  tasks: ReadonlySet<string>,
  idSuffix = "",
): Sorted {
  const out: Sorted = { run: [], bad: [], lacked: [] };
  for (const [entryId, fields] of entries) {
    // checkEntry, not parseEntry: the job is built from its fields at once (this runs per job).
    const c = checkEntry(entryId, fields, idSuffix);
    if (c.problem !== null) out.bad.push({ entryId, id: c.id, problem: c.problem });
    else if (!tasks.has(c.t!)) out.lacked.push({ entryId, jobId: c.id, task: c.t! });
    else out.run.push(freshJob(entryId, c));
  }
  return out;
}

/** A checked fresh delivery as a job: delivery count 1, attempt a + 1, run n + 1. */
function freshJob(entryId: string, c: CheckedEntry): Startable {
  const attempt = Number(c.a) + 1;
  // The fields in startable's order, so every Startable has one shape.
  const run: Startable = {
    entryId,
    jobId: c.id,
    task: c.t!,
    payload: c.p!,
    attempt,
    maxAttempts: Number(c.m),
    runNo: (c.n === undefined ? 0 : Number(c.n)) + 1,
    hasRecord: c.i !== undefined,
    deliveries: 1,
  };
  if (c.k !== undefined) run.limitKey = c.k;
  return run;
}

/**
 * Sorts what a claim gave (lib/engine/claim.ts): attempts and run numbers come from the
 * script, which read the delivery counts. Buried and deleted entries need nothing more.
 */
export function sortClaimed(
  claimed: readonly Claimed[],
  tasks: ReadonlySet<string>,
  idSuffix = "",
): Sorted {
  const out: Sorted = { run: [], bad: [], lacked: [] };
  for (const c of claimed) {
    if (c.kind !== "run") continue;
    const check = parseEntry(c.entry, Object.entries(c.fields).flat(), idSuffix);
    if (!check.ok) out.bad.push({ entryId: c.entry, id: check.id, problem: check.problem });
    else add(out, { ...check.job, hasRecord: c.hasRecord }, tasks, c.attempt, c.runNo);
  }
  return out;
}

function add(
  out: Sorted,
  job: EntryJob,
  tasks: ReadonlySet<string>,
  attempt: number,
  runNo: number,
): void {
  const { entryId, jobId, task } = job;
  if (!tasks.has(task)) {
    out.lacked.push({ entryId, jobId, task });
    return;
  }
  out.run.push(startable(job, attempt, runNo, attempt - job.attemptsBefore));
}

/**
 * The job as delivered (a parsed entry with its attempt, or a running job without the attempt
 * in progress), its fields copied in one order, so every Startable has the same shape;
 * `limitKey` only when it has one.
 */
export function startable(
  j: Pick<
    Startable,
    "entryId" | "jobId" | "task" | "payload" | "maxAttempts" | "hasRecord" | "limitKey"
  >,
  attempt: number,
  runNo: number,
  deliveries: number,
): Startable {
  const { entryId, jobId, task, payload, maxAttempts, hasRecord, limitKey } = j;
  const run: Startable = {
    entryId,
    jobId,
    task,
    payload,
    attempt,
    maxAttempts,
    runNo,
    hasRecord,
    deliveries,
  };
  if (limitKey !== undefined) run.limitKey = limitKey;
  return run;
}
