// A slow source's jobs are not held back for a full batch: bulk enqueue (lib/queue/cut.ts) cuts
// a batch at `enqueueBatchSize` jobs, and a source that yields a few jobs and then waits (a
// database cursor, a pipe fed by hand, a stream of events) would keep them until it had yielded
// the rest. Once a batch has waited `lingerMs` for the source's next step, the step answers
// STALLED and the batch goes out as it is; the step itself is kept for the next call.

/** What a step answers when the source kept a batch waiting past its linger. */
export const STALLED: unique symbol = Symbol("stalled");

/**
 * An async source's steps, with STALLED for a step that took longer than `lingerMs` since the
 * waiting batch's first raced step. `batch()` names the batch waiting for the source (any object
 * that changes when a batch is cut), or null when none waits. A step raced costs a
 * `Promise.race`; a step with no batch waiting costs nothing. The source is asked to return as a
 * for-await loop over it would ask it; a step that threw ends it without.
 */
export class Lingering<T> implements AsyncIterableIterator<T | typeof STALLED> {
  readonly #source: AsyncIterator<T>;
  /** The source's step under way when the last call answered STALLED. */
  #kept: Promise<IteratorResult<T>> | null = null;
  /** The batch the deadline is for. */
  #for: object | null = null;
  /** Resolves once that batch has waited `lingerMs`: one timer per batch, not per step. */
  #deadline: Promise<IteratorResult<typeof STALLED>> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    source: AsyncIterable<T>,
    private readonly lingerMs: number,
    private readonly batch: () => object | null,
  ) {
    this.#source = source[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<T | typeof STALLED>> {
    const step = this.#kept ?? Promise.resolve(this.#source.next());
    this.#kept = null;
    const batch = this.batch();
    if (batch !== this.#for) {
      this.#stopClock();
      this.#for = batch;
    }
    if (batch === null) return this.#settle(await step);
    const first = await Promise.race([step, this.#clock()]);
    if (first.value === STALLED) {
      // The batch goes out; its step is the next call's, raced again for the next batch.
      this.#kept = step;
      this.#stopClock();
      return first;
    }
    return this.#settle(first as IteratorResult<T>);
  }

  async return(value?: unknown): Promise<IteratorResult<T>> {
    this.#stopClock();
    const ended = await this.#source.return?.(value);
    return ended ?? { done: true, value: undefined };
  }

  #settle(result: IteratorResult<T>): IteratorResult<T> {
    if (result.done) this.#stopClock();
    return result;
  }

  /** The waiting batch's deadline, armed by its first raced step. */
  #clock(): Promise<IteratorResult<typeof STALLED>> {
    this.#deadline ??= new Promise((resolve) => {
      this.#timer = setTimeout(() => resolve({ done: false, value: STALLED }), this.lingerMs);
      // Never what keeps a process alive: a consumer that stopped pulling leaves it behind.
      (this.#timer as { unref?: () => void }).unref?.();
    });
    return this.#deadline;
  }

  #stopClock(): void {
    clearTimeout(this.#timer);
    this.#deadline = null;
  }
}
