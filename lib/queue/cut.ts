// Bulk enqueue's batches (lib/queue/bulk.ts), cut by count and by bytes: a batch is one script
// call, which holds Redis for as long as it copies its jobs in, so 500 jobs of 256 KB each (one
// call of 128 MB: over a second) are as much a stall as any unbounded read. Each job is checked
// and serialised as it is taken, its size known before it joins a batch.

import { Lingering, STALLED } from "./linger.ts";
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

/** No batch done: returned by `Cutter.add` without allocating. */
const NONE: readonly never[] = [];

/**
 * Where batches are cut, in order: before a job that would take its batch past `bound.bytes` (a
 * heavier job goes alone in its batch, never refused for its size here), and as soon as a batch
 * is full, not when the next item comes (a slow pipe's big line goes at once). Bulk enqueue's
 * batches and `dead requeue --all`'s runs of letters (lib/admin/letter-runs.ts) are cut by it.
 */
export class Cutter<T, P> {
  #cut: Cut<T, P> = { items: [], jobs: [], bytes: 0 };
  constructor(private readonly bound: BatchBound) {}

  /** Adds an item and its job weighing `bytes`; returns the batches that completes (0 to 2). */
  add(item: T, job: P, bytes: number): readonly Cut<T, P>[] {
    const now = this.#cut;
    const before =
      now.jobs.length > 0 && now.bytes + bytes > this.bound.bytes ? this.#take() : null;
    const cut = this.#cut;
    cut.items.push(item);
    cut.jobs.push(job);
    cut.bytes += bytes;
    const full = cut.jobs.length >= this.bound.count || cut.bytes >= this.bound.bytes;
    const after = full ? this.#take() : null;
    if (!before) return after ? [after] : NONE;
    return after ? [before, after] : [before];
  }

  /** The batch so far, with `item` (whose check threw `error`): refused, none of it sent. */
  refuse(item: T, error: unknown): Cut<T, P> {
    this.#cut.items.push(item);
    return { ...this.#take(), refused: { error } };
  }

  /** The batch being filled (a new object at each cut), or null while it is empty. */
  get filling(): object | null {
    return this.#cut.items.length > 0 ? this.#cut : null;
  }

  /** The last batch, if it holds anything. */
  rest(): Cut<T, P> | undefined {
    return this.#cut.items.length > 0 ? this.#take() : undefined;
  }

  #take(): Cut<T, P> {
    const cut = this.#cut;
    this.#cut = { items: [], jobs: [], bytes: 0 };
    return cut;
  }
}

/**
 * Items, each made a job by `prepare` (which may throw) and grouped lazily into batches of at
 * most `bound.count` jobs weighing at most `bound.bytes` together, cut as Cutter says. An item
 * whose `prepare` throws ends its batch, which is then `refused` (none of it is sent), and the
 * input. Items may come in arrays (a reader's chunk of lines), as chunksOf (lib/queue/window.ts).
 * `lingerMs`: an async source that keeps a batch waiting this long for its next item has the
 * batch cut as it is (lib/queue/linger.ts); absent, a batch waits until it is full.
 */
export async function* cutBatches<T extends object, P>(
  items: AsyncIterable<T | readonly T[]> | Iterable<T | readonly T[]>,
  prepare: (item: T) => P,
  weigh: (job: P) => number,
  bound: BatchBound,
  lingerMs?: number,
): AsyncGenerator<Cut<T, P>> {
  const cutter = new Cutter<T, P>(bound);
  const source =
    lingerMs !== undefined && Symbol.asyncIterator in items
      ? new Lingering(items, lingerMs, () => cutter.filling)
      : items;
  for await (const item of source) {
    if (item === STALLED) {
      const waited = cutter.rest();
      if (waited) yield waited;
      continue;
    }
    const group = (Array.isArray(item) ? item : [item]) as readonly T[];
    for (const one of group) {
      let job: P;
      try {
        job = prepare(one);
      } catch (error) {
        yield cutter.refuse(one, error);
        return;
      }
      const done = cutter.add(one, job, weigh(job));
      if (done.length > 0) yield* done; // most items complete none: no iterator made for them
    }
  }
  const rest = cutter.rest();
  if (rest) yield rest;
}
