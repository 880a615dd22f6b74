// Bulk enqueue's batches (lib/queue/bulk.ts), cut by count and by bytes: a batch is one script
// call, which holds Redis for as long as it copies its jobs in, so 500 jobs of 256 KB each (one
// call of 128 MB: over a second) are as much a stall as any unbounded read. Each job is checked
// and serialised as it is taken, its size known before it joins a batch.

import type { Prepared } from "./prepare.ts";

/** Where a batch is cut: at `count` jobs, or once its jobs weigh `bytes`. */
export interface BatchBound {
  count: number;
  bytes: number;
}

/** A batch cut: the items as given, their jobs, what they weigh; `refused` a check's error. */
export interface Cut<T, P> {
  items: T[];
  jobs: P[];
  bytes: number;
  refused?: { error: unknown };
}

/**
 * What a job weighs in a batch: the bytes of its data-sized fields as sent (UTF-8). The rest
 * of a job (numbers, flags) is a few bytes that the count bound covers.
 */
export function jobBytes(job: Prepared): number {
  let n = textBytes(job.payload) + textBytes(job.task);
  if (job.id !== undefined) n += job.id.length; // ASCII only (callerIdProblem)
  if (job.limitKey !== undefined) n += textBytes(job.limitKey);
  if (job.options !== undefined) n += textBytes(job.options);
  return n;
}

/**
 * A string's UTF-8 bytes, counted (about 17 ns for a short text here; a test for ASCII first
 * cost twice that). Weighed by its length instead, a batch of CJK text cut "at 1 MiB" held 3 MiB.
 */
export function textBytes(s: string): number {
  return Buffer.byteLength(s);
}

/**
 * Items, each made a job by `prepare` (which may throw) and grouped lazily into batches of at
 * most `bound.count` jobs weighing at most `bound.bytes` together; a job heavier than that goes
 * alone in its batch (never refused for its size here). A batch is cut as soon as it is full,
 * not when the next item comes (a slow pipe's big line goes at once). An item whose `prepare`
 * throws ends its batch, which is then `refused` (none of it is sent), and the input.
 * Items may come in arrays (a reader's chunk of lines), as chunksOf (lib/queue/window.ts).
 */
export async function* cutBatches<T extends object, P>(
  items: AsyncIterable<T | readonly T[]> | Iterable<T | readonly T[]>,
  prepare: (item: T) => P,
  weigh: (job: P) => number,
  bound: BatchBound,
): AsyncGenerator<Cut<T, P>> {
  let cut: Cut<T, P> = { items: [], jobs: [], bytes: 0 };
  for await (const item of items) {
    const group = (Array.isArray(item) ? item : [item]) as readonly T[];
    for (const one of group) {
      let job: P;
      try {
        job = prepare(one);
      } catch (error) {
        cut.items.push(one);
        yield { ...cut, refused: { error } };
        return;
      }
      const bytes = weigh(job);
      if (cut.jobs.length > 0 && cut.bytes + bytes > bound.bytes) {
        yield cut;
        cut = { items: [], jobs: [], bytes: 0 };
      }
      cut.items.push(one);
      cut.jobs.push(job);
      cut.bytes += bytes;
      if (cut.jobs.length >= bound.count || cut.bytes >= bound.bytes) {
        yield cut;
        cut = { items: [], jobs: [], bytes: 0 };
      }
    }
  }
  if (cut.items.length > 0) yield cut;
}
