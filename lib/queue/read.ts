// Reading jobs back: where each job is now (the status script), and behind a wait's blocking
// read, the outcomes of the jobs that have ended (lib/queue/wait.ts waits for them to end).

import type { QueueKeys } from "../engine/keys.ts";
import { recordsFromLetters } from "../engine/letters.ts";
import { endedRecord, readStatuses } from "../engine/status.ts";
import { wrongTypeAs } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { field } from "../redis/reply.ts";
import type { JobRecord } from "../types.ts";

export { field };

/**
 * Reads several jobs (read only), in calls of STATUS_CHUNK ids (engine/status.ts): `goOn`, asked
 * before each, stops the read there, and the list returned is shorter. null for ids Redis does
 * not know. With `fromLetters` (the default), a job whose outcome was dropped while Redis was
 * full reads as failed, from its dead letter (engine/letters.ts: a bounded scan, made only when
 * some job is unknown). Readers that anyone may call, or that run every second (the
 * dashboard), pass false.
 */
export async function getJobs(
  client: Redis,
  keys: QueueKeys,
  ids: readonly string[],
  fromLetters = true,
  goOn?: () => boolean,
): Promise<(JobRecord | null)[]> {
  const records = await readStatuses(client, keys, ids, goOn);
  const missing = ids.filter((_, i) => records[i] === null);
  if (missing.length === 0 || !fromLetters) return records;
  const letters = await recordsFromLetters(client, keys, missing);
  return records.map((r, i) => r ?? letters.get(ids[i]!) ?? null);
}

/**
 * The jobs that have ended, from their outcome values (`GET r:<id>`) and records (the earlier
 * runs), pipelined; null for a job with no outcome yet (running, queued, or unknown).
 */
export async function readOutcomes(
  client: Redis,
  keys: QueueKeys,
  ids: readonly string[],
): Promise<(JobRecord | null)[]> {
  // A key of another type reads as absent (the status script reads it so too, and finds the
  // job's letter): it must not fail every read of the wait.
  const values = ids.map((id) =>
    client.sendCommand<string | null>(["GET", keys.result(id)]).catch(wrongTypeAs(null)),
  );
  const records = ids.map((id) =>
    client.sendCommand<string[]>(["HGETALL", keys.record(id)]).catch(wrongTypeAs([])),
  );
  const [v, r] = await Promise.all([Promise.all(values), Promise.all(records)]);
  return ids.map((id, i) => (v[i] ? endedRecord(id, v[i], r[i] ?? []) : null));
}
