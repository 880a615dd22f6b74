// The scripts that record how runs ended: finish-5.lua (results) and fail-6.lua (retries and
// dead letters), a batch per call. Each function owns its script's KEYS and ARGV order; the
// reply is one code per item, in order (the scripts' headers say what each code means).
import type { Redis } from "../../redis/connect.ts";
import { GROUP, MINUTES_KEPT, type QueueKeys } from "../keys.ts";
import { runScript, scripts } from "../lua.ts";

/** One finished run: its entry, job, run number (from the start) and result (JSON). */
export interface FinishItem {
  entryId: string;
  jobId: string;
  runNo: number;
  result: string;
}

/** One failed run: its error, and when to run again. */
export interface FailItem {
  entryId: string;
  jobId: string;
  runNo: number;
  error: string;
  /**
   * Run again this many ms after the failure is recorded (the script adds it to Redis' clock,
   * not this host's); -1 = fail for good now.
   */
  retryInMs: number;
}

/**
 * Records results (finish-5.lua). Codes: 1 recorded, 0 the job had ended already, -1 its record
 * is gone, -2 its key is not a hash.
 */
export async function finishJobs(
  client: Redis,
  keys: QueueKeys,
  o: { resultTtlS: number; eventsMaxLen: number },
  items: readonly FinishItem[],
): Promise<number[]> {
  const args: (string | number)[] = [keys.jobPrefix, GROUP, o.resultTtlS, o.eventsMaxLen];
  args.push(MINUTES_KEPT);
  for (const f of items) args.push(f.entryId, f.jobId, f.runNo, f.result);
  const sKeys = [keys.stream, keys.events, keys.stats, keys.minutes, keys.durations];
  return (await runScript<number[]>(client, scripts.finish, sKeys, args)).map(Number);
}

/**
 * Records failures (fail-6.lua). `failureTtlS` 0 = compact (Redis is full: the record is
 * dropped, only a short letter kept). Codes: 1 will retry, 2 failed for good (dead letter), 0
 * left alone (ended, or not this run any more), -1 record gone, -2 key not a hash.
 */
export async function failJobs(
  client: Redis,
  keys: QueueKeys,
  o: { failureTtlS: number; deadMaxLen: number; eventsMaxLen: number },
  items: readonly FailItem[],
): Promise<number[]> {
  const args: (string | number)[] = [keys.jobPrefix, GROUP, o.failureTtlS, o.deadMaxLen];
  args.push(o.eventsMaxLen, MINUTES_KEPT);
  for (const f of items) args.push(f.entryId, f.jobId, f.runNo, f.error, f.retryInMs);
  const sKeys = [keys.stream, keys.delayed, keys.dead, keys.events, keys.stats, keys.minutes];
  return (await runScript<number[]>(client, scripts.fail, sKeys, args)).map(Number);
}
