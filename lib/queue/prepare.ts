// Enqueueing: one script call writes each job hash and adds its id to the stream. Bulk
// enqueue sends batches of `enqueueBatchSize` jobs per call, a few batches in flight at once
// (lib/queue/bulk.ts).

import type { ProducerOptions } from "../config.ts";
import { enqueueJobs, jobArgs } from "../engine/calls/enqueue.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { isValidJobId } from "../engine/record.ts";
import { InputError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import type { Task } from "../types.ts";

export interface JobSpec {
  /** Task name, or the task itself (its `validate` then checks the payload first). */
  // biome-ignore lint/suspicious/noExplicitAny: a spec list mixes tasks of any payload type
  task: string | Task<any, unknown>;
  /** Any JSON value. */
  payload?: unknown;
  /** Caller-given id: an idempotency key; a job with this id that exists is not re-added. */
  id?: string;
  /**
   * Attempts before the job is dead-lettered (1 to 1,000,000); defaults to the queue's
   * `maxAttempts`.
   */
  maxAttempts?: number;
  /** Run no sooner than this many milliseconds from now (at most one year). */
  delayMs?: number;
}

export interface Enqueued {
  id: string;
  /** false when a job with this id already existed (nothing was added). */
  created: boolean;
}

export interface Prepared {
  id: string;
  /** Its part of the enqueue script's ARGV (lib/engine/calls/enqueue.ts jobArgs). */
  args: string[];
  /** The id was made here (a UUIDv7), not given by the caller: no job can have it yet. */
  fresh: boolean;
}

/** The most attempts a job may be given. */
export const MAX_ATTEMPTS_LIMIT = 1_000_000;
/** The longest delay a job may be given: one year. */
export const DELAY_LIMIT_MS = 365 * 86_400_000;

/** Checks and serialises a job spec; throws InputError (or the task's own error). */
export function prepareJob(spec: JobSpec, o: ProducerOptions): Prepared {
  const name = typeof spec.task === "string" ? spec.task : spec.task.name;
  if (!name) throw new InputError("a job needs a task name");
  const payload =
    typeof spec.task !== "string" && spec.task.validate
      ? spec.task.validate(spec.payload)
      : spec.payload;
  const id = spec.id ?? Bun.randomUUIDv7();
  if (!isValidJobId(id)) {
    throw new InputError(`job id "${id}" must be 1-128 letters, digits or _.:-`);
  }
  const max = spec.maxAttempts ?? o.maxAttempts;
  // Bounded here: a count the start script cannot read back (1e21 is stored as "1e+21") would
  // be enqueued, then dead-lettered as a corrupt record at its first start.
  if (!Number.isInteger(max) || max < 1 || max > MAX_ATTEMPTS_LIMIT) {
    throw new InputError(
      `maxAttempts must be a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}, got ${max}`,
    );
  }
  const delay = spec.delayMs ?? 0;
  // Infinity (or NaN) would park the job forever; a year is far past any back-off or schedule.
  if (typeof delay !== "number" || !Number.isFinite(delay) || delay > DELAY_LIMIT_MS) {
    throw new InputError(
      `delayMs must be a number of milliseconds up to ${DELAY_LIMIT_MS} (one year), got ${delay}`,
    );
  }
  // A delay, not a due time: the script adds it to Redis' clock (this host's may be off).
  const wait = delay > 0 ? Math.round(delay) : 0;
  const json = JSON.stringify(payload ?? null);
  const args = jobArgs({ id, task: name, payload: json, maxAttempts: max, delayMs: wait });
  return { id, args, fresh: spec.id === undefined };
}

/**
 * Enqueues already-prepared jobs in one script call; results keep the input order. Under
 * `noeviction` at maxmemory, Redis refuses the call at its first write, so a refused batch
 * wrote nothing (the script only reads before it writes). `firstTry`: this batch has not been
 * sent before; if its ids are all fresh too, no job can exist with them and the script skips
 * its existence check (a fifth of its time). A retry checks: the first try may have landed.
 */
export async function enqueueBatch(
  client: Redis,
  keys: QueueKeys,
  batch: readonly Prepared[],
  firstTry = false,
): Promise<Enqueued[]> {
  const check = !firstTry || batch.some((job) => !job.fresh);
  const created = await enqueueJobs(client, keys, { check }, batch);
  return batch.map((job, i) => ({ id: job.id, created: created[i] === true }));
}
