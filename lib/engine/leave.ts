// Entries whose task this worker lacks (docs/internals.md, "3. Start"): left for a worker that has
// the task, spending no attempt. Owns leave.lua's KEYS/ARGV order and its reply.
import type { Redis } from "../redis/connect.ts";
import { GROUP, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

export interface LeftEntry {
  entry: string;
  /** The job id when it is not the entry's `i` or the auto id (entry id and suffix); else null. */
  id: string | null;
  task: string;
}

/**
 * Deferred (another live worker has the task), parked (none has), done (the job has an outcome
 * already: its entry acknowledged), gone (not pending on this consumer: left alone), or
 * unusable (its record key holds another type than a hash, so it cannot wait on it: the entry
 * stays pending, for the worker to bury).
 */
export type LeaveVerdict = "deferred" | "parked" | "done" | "gone" | "unusable";

/**
 * `delaysMs`: the deferral delays the retry policy chose, the first for a job's first
 * deferral (0 = back to the stream at once), the last for every later one.
 */
export async function leaveForOthers(
  client: Redis,
  k: QueueKeys,
  consumer: string,
  delaysMs: readonly number[],
  entries: readonly LeftEntry[],
): Promise<LeaveVerdict[]> {
  const args: string[] = [k.recordPrefix, k.parkedPrefix, GROUP, consumer, k.resultPrefix];
  args.push(delaysMs.map((ms) => Math.max(0, Math.round(ms))).join(",") || "0", k.idSuffix);
  for (const e of entries) args.push(e.entry, e.id ?? "", e.task);
  const keys = [k.stream, k.delayed, k.tasks];
  return await runScript<LeaveVerdict[]>(client, scripts.leave, keys, args);
}
