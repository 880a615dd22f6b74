// An iterable that ends with an error once a signal aborts, even while its source is waiting:
// a Queue's enqueueStream ends on close() though the host's source of specs has stalled.

/**
 * Yields what `source` yields until `signal` aborts, then throws `aborted()`, at once even when
 * a step of the source is still pending (that step is left to settle on its own; the source is
 * asked to return once it has). Ended early otherwise (the consumer's break, a refusal), the
 * source is asked to return as a for-await loop would ask it; what return() throws is dropped.
 */
export async function* untilAborted<T>(
  items: AsyncIterable<T> | Iterable<T>,
  signal: AbortSignal,
  aborted: () => Error,
): AsyncGenerator<T> {
  const source: AsyncIterator<T> | Iterator<T> =
    Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  let stop: (() => void) | undefined;
  const stopped = new Promise<"stopped">((resolve) => {
    stop = () => resolve("stopped");
  });
  signal.addEventListener("abort", stop!, { once: true });
  const closeSource = () => {
    try {
      void Promise.resolve(source.return?.()).catch(() => {});
    } catch {
      // a return() that throws at once: dropped too
    }
  };
  /** Not asked to return: it ended (done, or a step threw), or is closed once its step settles. */
  let settled = false;
  try {
    while (true) {
      if (signal.aborted) throw aborted();
      // A source whose step throws has ended: it is not asked to return (as for-await does not).
      settled = true;
      const step = source.next();
      // A sync source's step is there at once: raced only when it has to be waited for.
      const pending = isThenable(step) ? Promise.resolve(step) : null;
      const result = pending ? await Promise.race([pending, stopped]) : (step as IteratorResult<T>);
      if (result === "stopped") {
        // Not awaited: a stalled source never settles. Once it does, it is closed.
        void pending!.then(closeSource, () => {});
        throw aborted();
      }
      settled = false;
      if (result.done) {
        settled = true;
        return;
      }
      yield result.value;
    }
  } finally {
    signal.removeEventListener("abort", stop!);
    if (!settled) closeSource();
  }
}

/** A step of an async source: a promise, or any thenable its iterator returns. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
