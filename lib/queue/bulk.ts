// Bulk enqueue with bounded memory: specs are grouped into batches of `enqueueBatchSize` jobs or
// `enqueueBatchBytes` of data (lib/queue/cut.ts), a few batches are in flight at once (bounded
// by bytes too), and each batch's outcome is reported in input order as it is acknowledged, so
// a caller always knows exactly which jobs were enqueued.

import { defaults } from "../config.ts";
import { InputError } from "../errors.ts";
import { kindOf } from "../option-keys.ts";
import { type Cut, cutBatches, jobBytes } from "./cut.ts";
import type { Enqueued, JobSpec, Prepared } from "./prepare.ts";
import { PartialBatchError } from "./route.ts";
import { chunksOf, inOrderWindow } from "./window.ts";

/** Batches in flight by default: enough to keep Redis busy, few enough to bound memory. */
const DEFAULT_IN_FLIGHT = 8;
/**
 * How long a batch waits for a slow source's next job by default before it goes out short:
 * long enough that a source with jobs at hand fills its batches, short against a job's run.
 */
const DEFAULT_LINGER_MS = 10;
/** The longest a batch may be told to wait for its source. */
const LINGER_MAX_MS = 60_000;

export interface EnqueueStreamOptions {
  /**
   * Batches sent before waiting for the oldest reply (default 8; batches hold `enqueueBatchSize`
   * jobs or `enqueueBatchBytes` of data). The batches unanswered weigh at most this many times
   * `enqueueBatchBytes` together (a batch of one heavier job goes alone).
   */
  inFlight?: number;
  /**
   * How long a batch's first job waits for the rest before the batch is sent short (default 10
   * ms, 0 to 60,000): a source that yields a few jobs and then waits (a cursor, a pipe, a stream
   * of events) has them enqueued then, not once it has yielded `enqueueBatchSize` more. A sync
   * source, or an array, never waits.
   */
  lingerMs?: number;
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
  /** A batch is cut once its jobs weigh this many bytes (jobBytes; default enqueueBatchBytes). */
  batchBytes?: number;
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
 * Outcomes of every batch, in input order. Specs are checked as they are read: a spec that
 * fails its check ends and refuses its batch. After the first refusal nothing more is sent;
 * the batches already in flight are still reported (they may have been acknowledged).
 */
export async function* enqueueBatches<S extends JobSpec>(
  specs: Specs<S>,
  sender: Sender,
  options: EnqueueStreamOptions = {},
  // false: `specs` wraps a sync source (Queue.enqueueStream's close watch), whose steps never wait.
  lingers = true,
): AsyncGenerator<BatchOutcome<S>> {
  const inFlight = inFlightOf(options);
  const linger = lingerOf(options);
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
  const cuts = cutBatches(
    specs,
    sender.prepare,
    jobBytes,
    bound(sender),
    lingers ? linger : undefined,
  );
  const numbered = mapAsync(cuts, (cut) => {
    const at = index;
    index += cut.items.length;
    return { index: at, cut };
  });
  const send = (b: { cut: Cut<S, Prepared> }) =>
    b.cut.refused ? Promise.reject(b.cut.refused.error) : sender.send(b.cut.jobs);
  const bytes = windowBytes(sender, inFlight, (b: { cut: { bytes: number } }) => b.cut.bytes);
  for await (const o of inOrderWindow(numbered, send, inFlight, bytes)) {
    const batch = { index: o.batch.index, specs: o.batch.cut.items };
    if (o.ok) yield { ...batch, ok: true, jobs: o.value };
    else if (o.error instanceof PartialBatchError) yield* runsOf(batch, o.error);
    else yield { ...batch, ok: false, error: o.error };
  }
}

/** The most batches in flight at most: far past what fills a link (DEFAULT_IN_FLIGHT is 8). */
const IN_FLIGHT_MAX = 1_000;

/**
 * `inFlight` and `lingerMs`, checked at the call (enqueueMany, which does not linger, too):
 * InputError for a value that cannot work.
 */
export function checkStreamOptions(options: EnqueueStreamOptions | undefined): void {
  inFlightOf(options);
  lingerOf(options);
}

/** `inFlight`, checked (InputError naming it, not the window's own words). */
function inFlightOf(options: EnqueueStreamOptions | undefined): number {
  const n = options?.inFlight ?? DEFAULT_IN_FLIGHT;
  if (!Number.isInteger(n) || n < 1 || n > IN_FLIGHT_MAX) {
    throw new InputError(
      `inFlight must be a whole number from 1 to ${IN_FLIGHT_MAX}, got ${kindOf(n)}`,
    );
  }
  return n;
}

/** `lingerMs`, checked as inFlight is. */
function lingerOf(options: EnqueueStreamOptions | undefined): number {
  const ms = options?.lingerMs ?? DEFAULT_LINGER_MS;
  if (!Number.isInteger(ms) || ms < 0 || ms > LINGER_MAX_MS) {
    throw new InputError(
      `lingerMs must be a whole number from 0 to ${LINGER_MAX_MS}, got ${kindOf(ms)}`,
    );
  }
  return ms;
}

function bound(sender: Sender) {
  return { count: sender.batchSize, bytes: sender.batchBytes ?? defaults.enqueueBatchBytes };
}

/** The window's bytes: `inFlight` full batches. */
function windowBytes<B>(sender: Sender, inFlight: number, of: (batch: B) => number) {
  return { max: inFlight * bound(sender).bytes, of };
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
  const same = (job: Prepared) => job;
  const inFlight = inFlightOf(options);
  const window = inOrderWindow(
    cutBatches(prepared, same, jobBytes, bound(sender)),
    (cut) => sender.send(cut.jobs),
    inFlight,
    windowBytes(sender, inFlight, (cut) => cut.bytes),
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
