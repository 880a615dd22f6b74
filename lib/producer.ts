// Enqueueing: one script call writes each job hash and adds its id to the stream. Bulk
// enqueue sends batches of `enqueueBatchSize` jobs per call, and pipelines the batches.
import { isValidJobId } from "./_job.ts";
import { runScript, scripts } from "./_scripts.ts";
import type { ProducerOptions } from "./config.ts";
import type { Redis } from "./connect.ts";
import { InputError } from "./errors.ts";
import type { QueueKeys } from "./keys.ts";
import type { Task } from "./types.ts";

export interface JobSpec {
  /** Task name, or the task itself (its `validate` then checks the payload first). */
  // biome-ignore lint/suspicious/noExplicitAny: a spec list mixes tasks of any payload type
  task: string | Task<any, unknown>;
  /** Any JSON value. */
  payload?: unknown;
  /** Caller-given id: an idempotency key; a job with this id that exists is not re-added. */
  id?: string;
  /** Attempts before the job is dead-lettered; defaults to the queue's `maxAttempts`. */
  maxAttempts?: number;
  /** Run no sooner than this many milliseconds from now. */
  delayMs?: number;
}

export interface Enqueued {
  id: string;
  /** false when a job with this id already existed (nothing was added). */
  created: boolean;
}

interface Prepared {
  id: string;
  args: string[];
}

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
  if (!Number.isInteger(max) || max < 1) throw new InputError("maxAttempts must be 1 or more");
  const delay = spec.delayMs ?? 0;
  const due = delay > 0 ? o.now() + delay : 0;
  const json = JSON.stringify(payload ?? null);
  return { id, args: [id, name, json, String(max), String(due)] };
}

/** Enqueues already-prepared jobs in batches; results keep the input order. */
export async function enqueuePrepared(
  client: Redis,
  keys: QueueKeys,
  o: ProducerOptions,
  jobs: readonly Prepared[],
): Promise<Enqueued[]> {
  const calls: Promise<number[]>[] = [];
  for (let i = 0; i < jobs.length; i += o.enqueueBatchSize) {
    const batch = jobs.slice(i, i + o.enqueueBatchSize);
    const args: string[] = [keys.jobPrefix, String(o.now())];
    for (const job of batch) args.push(...job.args);
    // Not awaited one by one: node-redis pipelines the calls made in the same tick.
    calls.push(runScript<number[]>(client, scripts.enqueue, enqueueKeys(keys), args));
  }
  const replies = (await Promise.all(calls)).flat();
  return jobs.map((job, i) => ({ id: job.id, created: replies[i] === 1 }));
}

function enqueueKeys(keys: QueueKeys): string[] {
  return [keys.stream, keys.delayed, keys.stats];
}
