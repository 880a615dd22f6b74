// Finish in v2 (docs/internals.md, "5. Finish", "2. Read"): the typed owner of finish.lua's KEYS/ARGV and
// reply. One call per batch of finished jobs; with `take` > 0 the same call reads the next
// entries for the worker's free slots (one call per job at concurrency 1).
import { defaults } from "../config.ts";
import type { Redis } from "../redis/connect.ts";
import { GROUP, MINUTES_KEPT, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";
import { type FinishedRun, finishedTail } from "./outcome.ts";

export interface FinishItem extends FinishedRun {
  entryId: string;
  jobId: string;
  /** The job has a record (its entry had `i`, or it came from a claim): EXPIREd with the result. */
  hasRecord: boolean;
}

export interface FinishWorker {
  /** The consumer name (the worker's name). */
  consumer: string;
  resultTtlS: number;
  eventsMaxLen: number;
  /** A corrupt r:<id> (another type) dead-letters its job: the dead stream's cap. */
  deadMaxLen?: number;
  /** ... and that job's record is kept this long (seconds). */
  failureTtlS?: number;
  /** Starts made since this worker's last count (the `started` counter). */
  startedSince?: number;
}

/** An entry as XREADGROUP returns it (fields flat); check it with parseEntry (entry.ts). */
export type TakenEntry = [entryId: string, fields: string[]];

export interface Finished {
  /** Per item: 1 recorded, 0 the job had an outcome (the first is kept), -2 r:<id> corrupt (dead-lettered). */
  codes: number[];
  taken: TakenEntry[];
  /** How many of the jobs ended are parents of others (their dependents are to be told). */
  noted: number;
}

export async function finishJobs(
  client: Redis,
  keys: QueueKeys,
  w: FinishWorker,
  items: readonly FinishItem[],
  take = 0,
): Promise<Finished> {
  const args: (string | number)[] = [
    keys.resultPrefix,
    keys.recordPrefix,
    GROUP,
    w.consumer,
    w.resultTtlS,
    w.eventsMaxLen,
    MINUTES_KEPT,
    w.startedSince ?? 0,
    take,
    w.deadMaxLen ?? defaults.deadMaxLen,
    w.failureTtlS ?? defaults.failureTtlS,
    keys.idSuffix,
  ];
  for (const it of items) {
    // An auto id goes as '' (the script appends the suffix to the entry id): fewer bytes per job.
    const id = it.jobId === it.entryId + keys.idSuffix ? "" : it.jobId;
    args.push(it.entryId, id, it.hasRecord ? 1 : 0, Math.max(0, Math.round(it.runMs)));
    args.push(finishedTail(it));
  }
  const [codes, taken, noted] = await runScript<[number[], TakenEntry[], number]>(
    client,
    scripts.finish,
    [
      ...[keys.stream, keys.events, keys.stats, keys.minutes, keys.durations, keys.dead],
      ...[keys.hasDependents, keys.endedParents],
    ],
    args,
  );
  return { codes: codes.map(Number), taken, noted: Number(noted ?? 0) };
}
