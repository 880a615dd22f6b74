// Bulk enqueue with bounded memory: specs are grouped into batches of `enqueueBatchSize`, a
// few batches are in flight at once, and each batch's outcome is reported in input order as
// it is acknowledged, so a caller always knows exactly which jobs were enqueued.

import type { Enqueued, JobSpec, Prepared } from "./prepare.ts";
import { PartialBatchError } from "./route.ts";
import { chunksOf, inOrderWindow } from "./window.ts";

/** Batches in flight by default: enough to keep Redis busy, few enough to bound memory. */
const DEFAULT_IN_FLIGHT = 8;

export interface EnqueueStreamOptions {
  /** Batches sent before waiting for the oldest reply (default 8; batches hold `enqueueBatchSize` jobs). */
  inFlight?: number;
}

/** A batch Redis acknowledged: its specs, as given, and their jobs in the same order. */
export interface EnqueuedBatch<S extends JobSpec = JobSpec> {
  /** Position of the batch's first spec in the input (0-based). */
  index: number;
  specs: S[];
  jobs: Enqueued[];
}

/** Job specs, one by one or in arrays (a reader's chunk of lines: one step per chunk). */
export type Specs<S extends JobSpec> = AsyncIterable<S | readonly S[]> | Iterable<S | readonly S[]>;

/** Every batch's outcome: acknowledged, or refused (nothing of it known to be enqueued). */
export type BatchOutcome<S extends JobSpec = JobSpec> =
  | (EnqueuedBatch<S> & { ok: true })
  | { index: number; specs: S[]; ok: false; error: unknown };

interface Sender {
  batchSize: number;
  /**
   * Done once before the first batch is sent (the Queue records a fresh queue's layout), and
   * before more input is read: the first batch then goes out as soon as it is read.
   */
  ready?: () => Promise<void>;
  prepare: (spec: JobSpec) => Prepared;
  /** Sends one batch (with retries); throws ConnectError, RedisFullError, … */
  send: (batch: readonly Prepared[]) => Promise<Enqueued[]>;
}

/**
 * Outcomes of every batch, in input order. Specs are checked as their batch is sent: a spec
 * that fails its check refuses its batch. After the first refusal nothing more is sent; the
 * batches already in flight are still reported (they may have been acknowledged).
 */
export async function* enqueueBatches<S extends JobSpec>(
  specs: Specs<S>,
  sender: Sender,
  options: EnqueueStreamOptions = {},
): AsyncGenerator<BatchOutcome<S>> {
  const unready = await sender.ready?.().then(
    () => null,
    (error: unknown) => ({ error }),
  );
  if (unready) {
    // Nothing was sent: the first batch is refused, and nothing more is read.
    for await (const first of chunksOf(specs, sender.batchSize)) {
      yield { index: 0, specs: first, ok: false, error: unready.error };
      return;
    }
    return;
  }
  let index = 0;
  const numbered = mapAsync(chunksOf(specs, sender.batchSize), (batch) => {
    const at = index;
    index += batch.length;
    return { index: at, specs: batch };
  });
  const send = (b: { specs: S[] }) => sender.send(b.specs.map(sender.prepare));
  for await (const o of inOrderWindow(numbered, send, options.inFlight ?? DEFAULT_IN_FLIGHT)) {
    if (o.ok) yield { ...o.batch, ok: true, jobs: o.value };
    else if (o.error instanceof PartialBatchError) yield* runsOf(o.batch, o.error);
    else yield { ...o.batch, ok: false, error: o.error };
  }
}

/**
 * A batch some of whose shards' parts were enqueued and others not (lib/queue/route.ts): told as
 * its runs of consecutive jobs, each enqueued or refused, in input order, so what is reported
 * enqueued is exactly what was, and the first refused job is where to resume.
 */
function* runsOf<S extends JobSpec>(
  batch: { index: number; specs: S[] },
  partial: PartialBatchError,
): Generator<BatchOutcome<S>> {
  let from = 0;
  for (let i = 1; i <= batch.specs.length; i++) {
    const ok = partial.jobs[from] !== null;
    if (i < batch.specs.length && (partial.jobs[i] !== null) === ok) continue;
    const run = { index: batch.index + from, specs: batch.specs.slice(from, i) };
    if (ok) yield { ...run, ok: true, jobs: partial.jobs.slice(from, i) as Enqueued[] };
    else yield { ...run, ok: false, error: partial.error };
    from = i;
  }
}

/** Acknowledged batches in order; after a refusal, the later acknowledged ones, then throws. */
export async function* enqueueStream<S extends JobSpec>(
  outcomes: AsyncIterable<BatchOutcome<S>>,
): AsyncGenerator<EnqueuedBatch<S>> {
  let failure: { error: unknown } | undefined;
  for await (const o of outcomes) {
    if (o.ok) yield { index: o.index, specs: o.specs, jobs: o.jobs };
    else failure ??= { error: o.error };
  }
  if (failure) throw failure.error;
}

/** Already-prepared jobs (enqueueMany checked them all first), sent through the window. */
export async function enqueuePreparedMany(
  prepared: readonly Prepared[],
  sender: Sender,
  options: EnqueueStreamOptions = {},
): Promise<Enqueued[]> {
  const out: Enqueued[] = [];
  const window = inOrderWindow(
    chunksOf(prepared, sender.batchSize),
    sender.send,
    options.inFlight ?? DEFAULT_IN_FLIGHT,
  );
  let failure: { error: unknown } | undefined;
  for await (const o of window) {
    if (o.ok) out.push(...o.value);
    else failure ??= { error: o.error instanceof PartialBatchError ? o.error.error : o.error };
  }
  if (failure) throw failure.error;
  return out;
}

async function* mapAsync<T, U>(items: AsyncIterable<T>, fn: (t: T) => U): AsyncGenerator<U> {
  for await (const item of items) yield fn(item);
}
