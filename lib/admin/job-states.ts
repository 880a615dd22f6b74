// One shard's jobs in one state, read from where that state lives (never a scan of the
// keyspace; docs/internals.md, "Listing jobs"): waiting = stream entries after the group's
// last-delivered-id, running = the pending list, delayed = the delayed set, finished / failed /
// canceled = the events stream, dead = the dead letters. Each row carries its position in its
// shard (where the next page goes on) and a sort key (when) for the merge over shards (jobs.ts).
// This file is the table of states; each reader is in lib/admin/states/.

import { dead } from "./states/dead.ts";
import { ended } from "./states/ended.ts";
import type { StateReader } from "./states/row.ts";
import { delayed, waitingForParents } from "./states/scored.ts";
import { running, waiting } from "./states/stream.ts";

export const JOB_STATES = [
  "waiting",
  "running",
  "delayed",
  "finished",
  "failed",
  "dead",
  "canceled",
  "waiting-for-parents",
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const READERS: Record<JobState, StateReader> = {
  waiting,
  running,
  delayed,
  finished: ended("finished"),
  failed: ended("failed"),
  canceled: ended("canceled"),
  dead,
  "waiting-for-parents": waitingForParents,
};
