// The retry policy, in one place: when a failed attempt is the last one and how long a job
// waits before the next (back-off with jitter, a task's own delay capped), the delays of jobs
// left for a worker that has their task, and the promotion of due jobs. The scripts
// (lib/engine/lua/fail.lua, leave.lua, promote.lua) write what this decides; due times are
// Redis' TIME + these delays, never a worker's clock.
import type { QueueKeys } from "../engine/keys.ts";
import { type Promoted, promoteSome } from "../engine/promote.ts";
import type { Redis } from "../redis/connect.ts";
import { exponentialMs } from "../time.ts";

export interface BackoffOptions {
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/**
 * Delay before the attempt after `attempt` (1-based): base · 2^(attempt−1), capped at max,
 * then scaled by a factor in [0.75, 1.25), so jobs that failed together (a site that went
 * down) do not all come back in the same instant. `random` is injectable for table tests.
 */
export function backoffMs(
  attempt: number,
  o: BackoffOptions,
  random: () => number = Math.random,
): number {
  const capped = exponentialMs(o.backoffBaseMs, attempt - 1, o.backoffMaxMs);
  return Math.round(capped * (0.75 + random() * 0.5));
}

/**
 * A task's own retry delay (a server's Retry-After) is kept within [0, backoffMaxMs]: a hostile
 * or broken server must not park a job for years. Not a finite number: the usual back-off.
 */
export function retryDelayMs(
  asked: number | undefined,
  attempt: number,
  o: BackoffOptions & { random?: () => number },
): number {
  if (asked === undefined || !Number.isFinite(asked)) return backoffMs(attempt, o, o.random);
  return Math.min(Math.max(0, asked), o.backoffMaxMs);
}

/** What a failed attempt needs to say whether, and when, it runs again. */
export interface FailedAttempt {
  attempt: number;
  maxAttempts: number;
  /** The task threw PermanentError: no retry, whatever attempts are left. */
  permanent: boolean;
  /** The task's own delay (RetryableError's retryAfterMs), if it asked for one. */
  retryAfterMs?: number;
}

/**
 * How long until the job runs again (ms, added to Redis' clock by fail.lua), or null to fail
 * for good now. The last-attempt rule: a permanent error, or an attempt that used the last of
 * maxAttempts, ends the job.
 */
export function retryInMs(
  f: FailedAttempt,
  o: BackoffOptions & { random?: () => number },
): number | null {
  if (f.permanent || f.attempt >= f.maxAttempts) return null;
  return retryDelayMs(f.retryAfterMs, f.attempt, o);
}

/** A job left for a worker that has its task: back at once the first time, then 50 ms doubling. */
const DEFERRAL = { backoffBaseMs: 50, backoffMaxMs: 1_000 };

/**
 * The delays of a job's deferrals (leave.lua indexes them by the job's count, the
 * last for every later one): 0, then 50 ms doubling up to 1 s, each jittered as backoffMs, so
 * a job that workers without its task keep taking costs them at most about one read a second.
 */
export function deferralDelaysMs(random: () => number = Math.random): number[] {
  return [0, ...[1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, DEFERRAL, random))];
}

/**
 * A promotion call moves at most this many jobs, and stops once the records it copied reach
 * MOVE_BYTES (1 MiB, lib/config.ts): some 2 ms of Redis for 256 KB records (1,000 of
 * them made one call of 500 ms); the loop below calls again at once while more is due.
 */
const PROMOTE_MOST = 1_000;

/** One promotion call (promote.lua): the jobs moved, and whether more may be due. */
export function promoteOnce(client: Redis, keys: QueueKeys): Promise<Promoted> {
  return promoteSome(client, keys, PROMOTE_MOST);
}

/**
 * Calls `once` again at once while it says more may be due and `stopped()` is false (a worker
 * stopping ends it between calls); returns how many moved. A call at a time: other clients'
 * commands run between them.
 */
export async function promoteAll(
  once: () => Promise<Promoted>,
  stopped: () => boolean = () => false,
): Promise<number> {
  let moved = 0;
  for (;;) {
    const step = await once();
    moved += step.moved;
    if (!step.more || stopped()) return moved;
  }
}

/** Moves jobs whose delay is over (by Redis' clock) from the delayed set back to the stream. */
export function promoteDue(client: Redis, keys: QueueKeys): Promise<number> {
  return promoteAll(() => promoteOnce(client, keys));
}
