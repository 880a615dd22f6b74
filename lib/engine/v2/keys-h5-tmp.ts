// PRIVATE COPY (h5-tmp): the v2 shard keys of docs/engine-v2.md §1, until lib/engine/v2/keys.ts
// (owned by the happy-path work) lands; the lead replaces imports of this file at merge.
import { GROUP, MINUTES_KEPT } from "../keys.ts";

export { GROUP, MINUTES_KEPT };

/** One shard's keys (N = 1 today: the tag is `{queue}`, today's layout). */
export interface ShardKeys {
  stream: string;
  delayed: string;
  dead: string;
  events: string;
  stats: string;
  minutes: string;
  tasks: string;
  /** `r:<id>`: a job's outcome (finished or failed value), with its TTL. */
  resultPrefix: string;
  /** `job:<id>`: a job's record, only for jobs that need one. */
  recordPrefix: string;
  /** `parked:<task>`: job ids parked until a worker that has the task is alive. */
  parkedPrefix: string;
}

export function shardKeys(prefix: string, queue: string): ShardKeys {
  const base = `${prefix}:{${queue}}`;
  return {
    stream: `${base}:stream`,
    delayed: `${base}:delayed`,
    dead: `${base}:dead`,
    events: `${base}:events`,
    stats: `${base}:stats`,
    minutes: `${base}:stats:minutes`,
    tasks: `${base}:tasks`,
    resultPrefix: `${base}:r:`,
    recordPrefix: `${base}:job:`,
    parkedPrefix: `${base}:parked:`,
  };
}
