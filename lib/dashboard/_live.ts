// Live updates over server-sent events. However many pages are open, one snapshot is read
// from Redis per interval (never more than once a second) and sent to all of them; nothing is
// read while no page listens.

export type Snapshot = () => Promise<unknown>;

const ENCODER = new TextEncoder();

export class Live {
  #subscribers = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy = false;

  constructor(
    private readonly snapshot: Snapshot,
    private readonly everyMs: number,
  ) {}

  /** A `text/event-stream` response that receives a `snapshot` event every interval. */
  subscribe(signal: AbortSignal): Response {
    let self: ReadableStreamDefaultController<Uint8Array> | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        self = controller;
        this.#subscribers.add(controller);
        controller.enqueue(ENCODER.encode(`retry: ${this.everyMs}\n\n`));
        this.#start();
        void this.#tick(); // the first snapshot at once, not after an interval
      },
      cancel: () => this.#drop(self),
    });
    signal.addEventListener("abort", () => this.#drop(self), { once: true });
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  get listeners(): number {
    return this.#subscribers.size;
  }

  /** Ends every stream (the server is stopping). */
  close(): void {
    for (const c of this.#subscribers) this.#drop(c);
  }

  #start(): void {
    this.#timer ??= setInterval(() => void this.#tick(), this.everyMs);
  }

  #drop(controller: ReadableStreamDefaultController<Uint8Array> | undefined): void {
    if (!controller || !this.#subscribers.delete(controller)) return;
    try {
      controller.close();
    } catch {
      // already closed by the client
    }
    if (this.#subscribers.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  async #tick(): Promise<void> {
    if (this.#busy || this.#subscribers.size === 0) return; // a slow Redis: skip, do not pile up
    this.#busy = true;
    let event: string;
    try {
      event = `event: snapshot\ndata: ${JSON.stringify(await this.snapshot())}\n\n`;
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      event = `event: failure\ndata: ${JSON.stringify({ error })}\n\n`;
    } finally {
      this.#busy = false;
    }
    const bytes = ENCODER.encode(event);
    for (const c of this.#subscribers) {
      try {
        c.enqueue(bytes);
      } catch {
        this.#drop(c);
      }
    }
  }
}
