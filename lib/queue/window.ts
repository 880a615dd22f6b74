// A window of batches in flight: bulk enqueue sends at most `size` batches before it waits for
// the oldest reply, so memory stays bounded however long the input is, and every call is
// answered long before the client's command timeout (a million jobs pipelined at once left the
// last ones waiting past it).

export type Answered<B, R> =
  | { batch: B; ok: true; value: R }
  | { batch: B; ok: false; error: unknown };

/** A bound on the bytes of the batches in flight: `of` weighs a batch once, as it is pulled. */
export interface BytesBound<B> {
  max: number;
  of: (batch: B) => number;
}

/**
 * Pulls batches from `source`, keeps at most `size` calls of `send` running, and yields each
 * batch's outcome in input order as soon as it and every batch before it have been answered.
 * With `bytes`, the batches unanswered also weigh at most `bytes.max` together (one batch alone
 * may weigh more: it is sent once nothing else is in flight), so memory stays bounded by bytes
 * whatever a batch holds; a batch pulled that does not fit waits, and nothing more is pulled.
 * Waiting for input never holds back an outcome: a slow source (a pipe) still sees its
 * batches reported as they are acknowledged. After the first failure nothing more is sent;
 * the batches already in flight are still yielded (they may have succeeded), then it ends. A
 * source that throws is a failure too: the batches in flight are yielded, then its error thrown.
 */
export async function* inOrderWindow<B, R>(
  source: AsyncIterable<B> | Iterable<B>,
  send: (batch: B) => Promise<R>,
  size: number,
  bytes?: BytesBound<B>,
): AsyncGenerator<Answered<B, R>> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError("window size must be 1 or more");
  const iterator = iteratorOf(source);
  const flight = new Flight<B, R>(send, bytes?.max ?? Number.POSITIVE_INFINITY);
  /** A batch pulled that waits for room in the bytes bound, with its weight. */
  let held: { batch: B; weight: number } | undefined;
  let pulling: Promise<IteratorResult<B>> | undefined;
  let ended = false;
  let failed = false;
  let sourceFailed: { error: unknown } | undefined;
  try {
    for (;;) {
      if (held && !failed && flight.fits(held.weight)) {
        flight.start(held.batch, held.weight);
        held = undefined;
      }
      if (!pulling && !held && !ended && !failed && flight.size < size) {
        pulling = Promise.resolve(iterator.next());
        pulling.catch(() => {}); // seen by the race below, or dropped once a batch failed
      }
      const waits = nextSteps(flight.oldest, failed ? undefined : pulling);
      if (waits.length === 0) {
        if (sourceFailed) throw sourceFailed.error;
        return;
      }
      const step = await Promise.race(waits);
      if ("pullFailed" in step) {
        pulling = undefined;
        failed = true;
        sourceFailed = { error: step.pullFailed };
        continue;
      }
      if ("pulled" in step) {
        pulling = undefined;
        if (step.pulled.done) ended = true;
        else held = { batch: step.pulled.value, weight: bytes ? bytes.of(step.pulled.value) : 0 };
        continue;
      }
      flight.shift();
      if (!step.answered.ok) failed = true;
      yield step.answered;
    }
  } finally {
    // Not awaited: a source waiting for input (an open pipe) would hold the caller until it
    // came. Its cleanup runs once that read ends.
    void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

/** The calls in flight, oldest first, and what they weigh together. */
class Flight<B, R> {
  #calls: { answer: Promise<Answered<B, R>>; weight: number }[] = [];
  #weight = 0;

  constructor(
    private readonly send: (batch: B) => Promise<R>,
    private readonly maxWeight: number,
  ) {}

  get size(): number {
    return this.#calls.length;
  }

  get oldest(): Promise<Answered<B, R>> | undefined {
    return this.#calls[0]?.answer;
  }

  /** Alone a batch always fits: one heavier than the bound would otherwise wait forever. */
  fits(weight: number): boolean {
    return this.#calls.length === 0 || this.#weight + weight <= this.maxWeight;
  }

  start(batch: B, weight: number): void {
    this.#calls.push({ answer: answer(batch, this.send), weight });
    this.#weight += weight;
  }

  shift(): void {
    this.#weight -= this.#calls.shift()?.weight ?? 0;
  }
}

type Step<B, R> =
  | { answered: Answered<B, R> }
  | { pulled: IteratorResult<B> }
  | { pullFailed: unknown };

/** The source's iterator, async or not. */
function iteratorOf<B>(source: AsyncIterable<B> | Iterable<B>): AsyncIterator<B> | Iterator<B> {
  return (source as AsyncIterable<B>)[Symbol.asyncIterator]
    ? (source as AsyncIterable<B>)[Symbol.asyncIterator]()
    : (source as Iterable<B>)[Symbol.iterator]();
}

/**
 * What the window may wait for next: the oldest outcome, and the source's next batch if one is
 * being pulled (not once a batch failed). None: nothing is in flight and nothing more is pulled.
 */
function nextSteps<B, R>(
  oldest: Promise<Answered<B, R>> | undefined,
  pulling: Promise<IteratorResult<B>> | undefined,
): Promise<Step<B, R>>[] {
  const waits: Promise<Step<B, R>>[] = [];
  // The oldest outcome first: when both are ready, reporting wins over reading.
  if (oldest) waits.push(oldest.then((o) => ({ answered: o })));
  if (pulling)
    waits.push(
      pulling.then(
        (r) => ({ pulled: r }),
        (e: unknown) => ({ pullFailed: e }),
      ),
    );
  return waits;
}

async function answer<B, R>(batch: B, send: (b: B) => Promise<R>): Promise<Answered<B, R>> {
  try {
    return { batch, ok: true, value: await send(batch) };
  } catch (error) {
    return { batch, ok: false, error };
  }
}

/**
 * Groups items into arrays of `size` (the last one may be shorter), lazily. Items may come in
 * arrays (a reader's chunk of lines): an array's items are taken in one step, not one awaited
 * step each (per item, that showed in `trigger --file`'s profile). Items themselves are never
 * arrays (job specs, prepared jobs).
 */
export async function* chunksOf<T extends object>(
  items: AsyncIterable<T | readonly T[]> | Iterable<T | readonly T[]>,
  size: number,
): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    const group = (Array.isArray(item) ? item : [item]) as readonly T[];
    for (const one of group) {
      batch.push(one);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}
