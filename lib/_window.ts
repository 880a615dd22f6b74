// A window of batches in flight: bulk enqueue sends at most `size` batches before it waits for
// the oldest reply, so memory stays bounded however long the input is, and every call is
// answered long before the client's command timeout (a million jobs pipelined at once left the
// last ones waiting past it).

export type Settled<B, R> =
  | { batch: B; ok: true; value: R }
  | { batch: B; ok: false; error: unknown };

/**
 * Pulls batches from `source`, keeps at most `size` calls of `send` running, and yields each
 * batch's outcome in input order as soon as it and every batch before it have settled.
 * After the first failure no further batch is pulled or sent; the batches already in flight
 * are still yielded (they may have succeeded), then the generator ends.
 */
export async function* inOrderWindow<B, R>(
  source: AsyncIterable<B> | Iterable<B>,
  send: (batch: B) => Promise<R>,
  size: number,
): AsyncGenerator<Settled<B, R>> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError("window size must be 1 or more");
  const inFlight: Promise<Settled<B, R>>[] = [];
  let failed = false;
  const iterator = (source as AsyncIterable<B>)[Symbol.asyncIterator]
    ? (source as AsyncIterable<B>)[Symbol.asyncIterator]()
    : (source as Iterable<B>)[Symbol.iterator]();
  try {
    for (;;) {
      while (!failed && inFlight.length < size) {
        const next = await iterator.next();
        if (next.done) break;
        inFlight.push(settle(next.value, send));
      }
      const oldest = inFlight.shift();
      if (!oldest) return;
      const outcome = await oldest;
      if (!outcome.ok) failed = true;
      yield outcome;
      // Stop pulling once the window drained after a failure (or the input ended).
      if (failed && inFlight.length === 0) return;
    }
  } finally {
    await iterator.return?.();
  }
}

async function settle<B, R>(batch: B, send: (b: B) => Promise<R>): Promise<Settled<B, R>> {
  try {
    return { batch, ok: true, value: await send(batch) };
  } catch (error) {
    return { batch, ok: false, error };
  }
}

/** Groups items into arrays of `size` (the last one may be shorter), lazily. */
export async function* chunks<T>(
  items: AsyncIterable<T> | Iterable<T>,
  size: number,
): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
