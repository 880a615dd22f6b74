// enqueue.lua's arguments per job (lib/engine/enqueue.ts builds the rest of the call): the
// shared layout (ARGV[5] 2 or 3: the fields a batch's jobs share sent once) and the per-job one
// (6 or 7). Written in place into the one command array: no array or object per job.
import type { PreparedJob } from "./enqueue.ts";

/**
 * The shared layout's arguments, from `command[i]` on: the fields the jobs share once (the
 * first job's), then per job its id (when `ids`: some job has one), payload and limit key.
 */
export function writeShared(
  command: string[],
  i: number,
  jobs: readonly PreparedJob[],
  ids: boolean,
): void {
  const { task, maxAttempts, when, options } = jobs[0]!;
  command[i++] = task;
  command[i++] = maxAttempts;
  command[i++] = when;
  command[i++] = options;
  for (const j of jobs) {
    if (ids) command[i++] = j.id;
    command[i++] = j.payload;
    command[i++] = j.limitKey;
  }
}

/** The per-job layout's arguments, from `command[i]` on: every field of each job (`fields`). */
export function writePerJob(
  command: string[],
  i: number,
  jobs: readonly PreparedJob[],
  fields: number,
): void {
  for (const j of jobs) {
    command[i++] = j.id;
    command[i++] = j.task;
    command[i++] = j.payload;
    command[i++] = j.maxAttempts;
    command[i++] = j.when;
    command[i++] = j.options;
    if (fields === 7) command[i++] = j.limitKey;
  }
}
