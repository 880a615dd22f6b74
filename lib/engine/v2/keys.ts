// Engine v2's keys and id forms (docs/internals.md, "Keys", "Job ids"). Every key of a queue carries the
// hash tag `{queue}`: with one shard (today) the layout of v1 plus the v2 keys below. Nothing
// here assumes one stream per queue: scripts take one shard's keys (`V2Keys`), and `shardOf`
// says which shard an id lives in.
import { isValidJobId } from "../record.ts";

export interface V2Keys {
  /** The shard's stream: one entry per delivery of a job (fields: lib/engine/v2/entry.ts). */
  stream: string;
  /** `r:<id>`: a string holding the job's outcome (lib/engine/v2/outcome.ts), with a TTL. */
  result: (id: string) => string;
  resultPrefix: string;
  /** `job:<id>`: the record hash, only for jobs that need one (caller id, delayed, retried…). */
  record: (id: string) => string;
  recordPrefix: string;
  /** `receipt:<batch>`: an enqueue batch's reply, so a re-sent batch adds nothing. */
  receipt: (batch: string) => string;
  /** Hash: `format`, `shards` (the data format's version; checked by every process). */
  meta: string;
  delayed: string;
  dead: string;
  events: string;
  stats: string;
  minutes: string;
  durations: string;
  tasks: string;
  parkedPrefix: string;
  workers: string;
  workerPrefix: string;
}

export function v2Keys(prefix: string, queue: string): V2Keys {
  const base = `${prefix}:{${queue}}`;
  const resultPrefix = `${base}:r:`;
  const recordPrefix = `${base}:job:`;
  return {
    stream: `${base}:stream`,
    result: (id) => resultPrefix + id,
    resultPrefix,
    record: (id) => recordPrefix + id,
    recordPrefix,
    receipt: (batch) => `${base}:receipt:${batch}`,
    meta: `${base}:meta`,
    delayed: `${base}:delayed`,
    dead: `${base}:dead`,
    events: `${base}:events`,
    stats: `${base}:stats`,
    minutes: `${base}:stats:minutes`,
    durations: `${base}:stats:durations`,
    tasks: `${base}:tasks`,
    parkedPrefix: `${base}:parked:`,
    workers: `${base}:workers`,
    workerPrefix: `${base}:worker:`,
  };
}

/** The data format these scripts read and write (`meta` field `format`). */
export const FORMAT_VERSION = 2;

/** An id Courier makes: the job's first stream entry id (`<ms>-<seq>`, a shard suffix with N > 1). */
const AUTO_ID = /^\d+-\d+(:\d+)?$/;

export function isAutoId(id: string): boolean {
  return AUTO_ID.test(id);
}

/** The problem with a caller-given job id, or null when it may be used. */
export function callerIdProblem(id: string): string | null {
  if (!isValidJobId(id)) return `job id "${id}" must be 1-128 letters, digits or _.:-`;
  if (AUTO_ID.test(id)) {
    return `job id "${id}" has the form of an id Courier makes (digits-digits): add a letter`;
  }
  return null;
}

/** The ms part of an auto id (Redis' clock when the job was enqueued), else null. */
export function autoIdMs(id: string): number | null {
  if (!AUTO_ID.test(id)) return null;
  return Number(id.slice(0, id.indexOf("-")));
}

/**
 * The shard a job id lives in. One shard today (N = 1): always 0. With N > 1 (issue 12): the
 * suffix of an auto id, `fnv1a32(utf8(id)) % N` for the rest.
 */
export function shardOf(_id: string, shards = 1): number {
  if (shards !== 1) throw new Error(`queues of ${shards} shards are not supported yet`);
  return 0;
}
