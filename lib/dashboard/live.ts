// Live updates over server-sent events. However many pages are open, one snapshot per queue is
// read from Redis per interval (never more than once a second) and sent to all of them; nothing
// is read while no page listens. Memory stays bounded whoever connects: the connections are
// capped (the next one gets 503), and a connection whose reader has stopped reading is dropped
// once `queuedMax` snapshots wait unsent for it, instead of queueing them for ever.
import { publicFailure } from "./api.ts";
import { dashboardDefaults } from "./options.ts";

export type Snapshot = () => Promise<unknown>;
type Controller = ReadableStreamDefaultController<Uint8Array>;

const ENCODER = new TextEncoder();
const HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  "x-accel-buffering": "no",
};

export class Live {
  #subscribers = new Set<Controller>();
  #onStalled = new WeakMap<Controller, () => void>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy = false;

  constructor(
    private readonly snapshot: Snapshot,
    private readonly everyMs: number,
    private readonly queuedMax: number = dashboardDefaults.liveQueuedMax,
  ) {}

  /**
   * A `text/event-stream` response that receives a `snapshot` event every interval.
   * `onStalled` is called when it is dropped for not reading: the server can then close the
   * socket, which the stream's end alone does not do while bytes wait in it unsent.
   */
  subscribe(signal: AbortSignal, onStalled?: () => void): Response {
    let self: Controller | undefined;
    // The queue counts events not yet taken by the socket: desiredSize reaches 0 when
    // `queuedMax` of them wait (the socket's own buffer is full: nobody reads at the other end).
    const strategy = new CountQueuingStrategy({ highWaterMark: this.queuedMax });
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          self = controller;
          this.#subscribers.add(controller);
          if (onStalled) this.#onStalled.set(controller, onStalled);
          controller.enqueue(ENCODER.encode(`retry: ${this.everyMs}\n\n`));
          this.#start();
          void this.#tick(); // the first snapshot at once, not after an interval
        },
        cancel: () => this.#drop(self),
      },
      strategy,
    );
    signal.addEventListener("abort", () => this.#drop(self), { once: true });
    return new Response(stream, { headers: HEADERS });
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

  /** Ends a stream: closed after what it holds is sent, or, when `stalled`, at once. */
  #drop(controller: Controller | undefined, stalled = false): void {
    if (!controller || !this.#subscribers.delete(controller)) return;
    try {
      // error() discards the queued events and aborts the response; close() would keep them
      // (and their memory) until a reader that is not reading takes them.
      if (stalled) {
        controller.error(new Error("live connection stalled: its reader stopped"));
        this.#onStalled.get(controller)?.();
      } else controller.close();
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
      // As the API says it (lib/dashboard/api.ts): never Redis' own message to every page.
      event = `event: failure\ndata: ${JSON.stringify({ error: publicFailure(err).error })}\n\n`;
    } finally {
      this.#busy = false;
    }
    const bytes = ENCODER.encode(event);
    for (const c of this.#subscribers) {
      if ((c.desiredSize ?? 0) <= 0) {
        this.#drop(c, true);
        continue;
      }
      try {
        c.enqueue(bytes);
      } catch {
        this.#drop(c);
      }
    }
  }
}

/** One Live per queue that has listeners, and the cap on live connections across them all. */
export class LiveHub {
  #lives = new Map<string, Live>();

  constructor(
    private readonly snapshotOf: (queue: string) => Snapshot,
    private readonly everyMs: number,
    private readonly max: number,
    private readonly queuedMax?: number,
  ) {}

  get listeners(): number {
    let n = 0;
    for (const live of this.#lives.values()) n += live.listeners;
    return n;
  }

  /** The queue's event stream, or null when `max` connections are open already. */
  subscribe(queue: string, signal: AbortSignal, onStalled?: () => void): Response | null {
    if (this.listeners >= this.max) return null;
    for (const [name, live] of this.#lives) if (live.listeners === 0) this.#lives.delete(name);
    let live = this.#lives.get(queue);
    if (!live) {
      live = new Live(this.snapshotOf(queue), this.everyMs, this.queuedMax);
      this.#lives.set(queue, live);
    }
    return live.subscribe(signal, onStalled);
  }

  close(): void {
    for (const live of this.#lives.values()) live.close();
  }
}
