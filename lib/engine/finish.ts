// Finish in v2 (docs/internals.md, "5. Finish", "2. Read"): the typed owner of finish.lua's KEYS/ARGV and
// reply. One call per batch of finished jobs; with `take` > 0 the same call reads the next
// entries for the worker's free slots (one call per job at concurrency 1).
import { defaults } from "../config.ts";
import type { Redis } from "../redis/connect.ts";
import { callerIdOf, GROUP, MINUTES_KEPT, type QueueKeys } from "./keys.ts";
import { scriptCommand, scripts, sendScript } from "./lua.ts";
import { runTail } from "./outcome.ts";

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

/** A run the worker finished (lib/worker/outcomes.ts Finish): the job as delivered, its result. */
export interface FinishedJob {
  entryId: string;
  jobId: string;
  runMs: number;
  result: string;
  job: {
    /** The job has a record (its entry had `i`, or it came from a claim): EXPIREd with the result. */
    hasRecord: boolean;
    attempt: number;
    maxAttempts: number;
    task: string;
    payload: string;
  };
}

/**
 * Finishes the worker's runs, with no item made per job: the worker in each outcome is
 * `w.consumer`, and the enqueue time is left unknown (the auto id tells it).
 */
export function finishRuns(
  client: Redis,
  keys: QueueKeys,
  w: FinishWorker,
  runs: readonly FinishedJob[],
  take = 0,
): Promise<Finished> {
  return sendFinish(client, keys, w, runs.length, take, (command, at) => {
    let i = at;
    for (const r of runs) {
      const j = r.job;
      i = writeItem(command, i, keys, r.entryId, r.jobId, j.hasRecord, r.runMs);
      const tail = runTail(
        r.runMs,
        j.attempt,
        j.maxAttempts,
        null,
        w.consumer,
        j.task,
        j.payload,
        r.result,
      );
      command[i++] = tail;
    }
  });
}

/** A job's first four arguments (its tail follows); returns where the tail goes. */
function writeItem(
  command: string[],
  at: number,
  keys: QueueKeys,
  entryId: string,
  jobId: string,
  hasRecord: boolean,
  runMs: number,
): number {
  command[at] = entryId;
  // An auto id goes as '' (the script appends the suffix to the entry id): fewer bytes per job.
  command[at + 1] = callerIdOf(keys, entryId, jobId) ?? "";
  command[at + 2] = hasRecord ? "1" : "0";
  command[at + 3] = String(Math.max(0, Math.round(runMs)));
  return at + 4;
}

/**
 * Builds the call for `count` jobs, `writeJobs` writing their arguments from `at` on, straight
 * into the command (scriptCommand: no argument list built, then copied), and sends it.
 */
async function sendFinish(
  client: Redis,
  keys: QueueKeys,
  w: FinishWorker,
  count: number,
  take: number,
  writeJobs: (command: string[], at: number) => void,
): Promise<Finished> {
  const { command, at } = scriptCommand(
    scripts.finish,
    [
      ...[keys.stream, keys.events, keys.stats, keys.minutes, keys.durations, keys.dead],
      ...[keys.hasDependents, keys.endedParents],
    ],
    HEAD_ARGS + ITEM_ARGS * count,
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
  writeJobs(command, i);
  const [codes, taken, noted] = await sendScript<[number[], TakenEntry[], number]>(
    client,
    scripts.finish,
    command,
  );
  return { codes: codes.map(Number), taken, noted: Number(noted ?? 0) };
}
