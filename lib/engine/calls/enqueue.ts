// The enqueue script (lib/engine/lua/enqueue-3.lua): writes a batch of job records and adds
// each to the stream (or the delayed set). This file owns its KEYS and ARGV order.
import type { Redis } from "../../redis/connect.ts";
import type { QueueKeys } from "../keys.ts";
import { runScript, scripts } from "../lua.ts";

/** One job as the script takes it. */
export interface NewJob {
  id: string;
  task: string;
  /** The payload as JSON text. */
  payload: string;
  maxAttempts: number;
  /**
   * How long after it is enqueued it may run (ms; 0 = now): the script adds it to Redis' clock,
   * not this host's, which may be off.
   */
  delayMs: number;
}

/** One job's ARGV, in the script's order; made once per job, when it is prepared. */
export function jobArgs(job: NewJob): string[] {
  return [job.id, job.task, job.payload, String(job.maxAttempts), String(job.delayMs)];
}

/**
 * Enqueues jobs given by their `jobArgs`; per job, true if created, false if a record with its
 * id existed (left alone). `check` false skips that check: the caller vouches no id exists yet.
 */
export async function enqueueJobs(
  client: Redis,
  keys: QueueKeys,
  o: { check: boolean },
  jobs: readonly { args: readonly string[] }[],
): Promise<boolean[]> {
  const args: string[] = [keys.jobPrefix, o.check ? "1" : "0"];
  for (const job of jobs) args.push(...job.args);
  const sKeys = [keys.stream, keys.delayed, keys.stats];
  const replies = await runScript<number[]>(client, scripts.enqueue, sKeys, args);
  return jobs.map((_, i) => replies[i] === 1);
}
