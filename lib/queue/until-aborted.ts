// An iterable that ends with an error once a signal aborts, even while its source is waiting:
// a Queue's enqueueStream ends on close() though the host's source of specs has stalled.

/**
 * Yields what `source` yields until `signal` aborts, then throws `aborted()`, at once even when
 * a step of the source is still pending (that step is left to settle on its own; the source is
 * asked to return once it has).
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
  try {
    while (true) {
      if (signal.aborted) throw aborted();
      const step = source.next();
      // A sync source's step is there at once: raced only when it has to be waited for.
      const result = step instanceof Promise ? await Promise.race([step, stopped]) : step;
      if (result === "stopped") {
        // Not awaited: a stalled source never settles. Once it does, it is closed.
        void (step as Promise<unknown>).then(
          () => source.return?.(),
          () => {},
        );
        throw aborted();
      }
      if (result.done) return;
      yield result.value;
    }
  } finally {
    signal.removeEventListener("abort", stop!);
  }
}
