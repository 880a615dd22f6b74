// Finish in v2 (docs/internals.md, "5. Finish", "2. Read"): the typed owner of finish.lua's KEYS/ARGV and
// reply. One call per batch of finished jobs; with `take` > 0 the same call reads the next
// entries for the worker's free slots (one call per job at concurrency 1).
import { defaults } from "../config.ts";
import type { Redis } from "../redis/connect.ts";
import { GROUP, MINUTES_KEPT, type QueueKeys } from "./keys.ts";
import { scriptCommand, scripts, sendScript } from "./lua.ts";
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

/** finish.lua's ARGV: 12 for the batch, then 5 per job. */
const HEAD_ARGS = 12;
const ITEM_ARGS = 5;

export async function finishJobs(
  client: Redis,
  keys: QueueKeys,
  w: FinishWorker,
  items: readonly FinishItem[],
  take = 0,
): Promise<Finished> {
  // Written straight into the command (scriptCommand): no argument list built, then copied.
  const { command, at } = scriptCommand(
    scripts.finish,
    [
      ...[keys.stream, keys.events, keys.stats, keys.minutes, keys.durations, keys.dead],
      ...[keys.hasDependents, keys.endedParents],
    ],
    HEAD_ARGS + ITEM_ARGS * items.length,
  );
  let i = at;
  command[i++] = keys.resultPrefix;
  command[i++] = keys.recordPrefix;
  command[i++] = GROUP;
  command[i++] = w.consumer;
  command[i++] = String(w.resultTtlS);
  command[i++] = String(w.eventsMaxLen);
  command[i++] = String(MINUTES_KEPT);
  command[i++] = String(w.startedSince ?? 0);
  command[i++] = String(take);
  command[i++] = String(w.deadMaxLen ?? defaults.deadMaxLen);
  command[i++] = String(w.failureTtlS ?? defaults.failureTtlS);
  command[i++] = keys.idSuffix;
  for (const it of items) {
    command[i++] = it.entryId;
    // An auto id goes as '' (the script appends the suffix to the entry id): fewer bytes per job.
    command[i++] = it.jobId === it.entryId + keys.idSuffix ? "" : it.jobId;
    command[i++] = it.hasRecord ? "1" : "0";
    command[i++] = String(Math.max(0, Math.round(it.runMs)));
    command[i++] = finishedTail(it);
  }
  const [codes, taken, noted] = await sendScript<[number[], TakenEntry[], number]>(
    client,
    scripts.finish,
    command,
  );
  return { codes: codes.map(Number), taken, noted: Number(noted ?? 0) };
}
