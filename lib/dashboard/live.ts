// Live updates over server-sent events. However many pages are open, one snapshot per queue is
// read from Redis per interval (never more than once a second) and sent to all of them; nothing
// is read while no page listens. Memory stays bounded whoever connects and however big the
// snapshot: the connections are capped (the next one gets 503), each is fed a slice at a time as
// its socket takes them, a reader that is behind gets the newest snapshot next, never a queue
// of old ones (lib/dashboard/live-feed.ts), and one that is `behindMax` snapshots behind is
// dropped.
import { RedisRefusedError } from "../errors.ts";
import { safeJson } from "../safe-text.ts";
import { publicFailure } from "./api.ts";
import { Feed } from "./live-feed.ts";
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
  #subscribers = new Map<Controller, Feed>();
  #onStalled = new WeakMap<Controller, () => void>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy = false;
  /** Events made so far: how far behind a reader is is counted in them. */
  #ticks = 0;

  constructor(
    private readonly snapshot: Snapshot,
    private readonly everyMs: number,
    private readonly behindMax: number = dashboardDefaults.liveBehindMax,
    private readonly sliceBytes: number = dashboardDefaults.liveSliceBytes,
  ) {}

  /**
   * A `text/event-stream` response that receives a `snapshot` event every interval.
   * `onStalled` is called when it is dropped for not reading: the server can then close the
   * socket, which the stream's end alone does not do while bytes wait in it unsent.
   */
  subscribe(signal: AbortSignal, onStalled?: () => void): Response {
    let self: Controller | undefined;
    const retry = ENCODER.encode(`retry: ${this.everyMs}\n\n`);
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          self = controller;
          this.#subscribers.set(
            controller,
            new Feed(controller, this.sliceBytes, () => this.#ticks, retry),
          );
          if (onStalled) this.#onStalled.set(controller, onStalled);
          this.#start();
          void this.#tick(); // the first snapshot at once, not after an interval
        },
        // Called when the socket took the last slice (and at once for the first).
        pull: (controller) => this.#subscribers.get(controller)?.pull(),
        cancel: () => this.#drop(self),
      },
      // Nothing queued ahead of the socket: a slice is made when it asks for one.
      { highWaterMark: 0 },
    );
    signal.addEventListener("abort", () => this.#drop(self), { once: true });
    return new Response(stream, { headers: HEADERS });
  }

  get listeners(): number {
    return this.#subscribers.size;
  }

  /** Ends every stream (the server is stopping). */
  close(): void {
    for (const c of [...this.#subscribers.keys()]) this.#drop(c);
  }

  #start(): void {
    this.#timer ??= setInterval(() => void this.#tick(), this.everyMs);
  }

  /**
   * Ends a stream: closed (by `close`, else at once), or, when `stalled`, aborted.
   */
  #drop(controller: Controller | undefined, stalled = false, close = () => controller?.close()) {
    if (!controller || !this.#subscribers.delete(controller)) return;
    try {
      // error() aborts the response at once; close() would wait for a reader that is not
      // reading to take what the socket holds.
      if (stalled) {
        controller.error(new Error("live connection stalled: its reader stopped"));
        this.#onStalled.get(controller)?.();
      } else close();
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
    let refused = false;
    try {
      // safeJson, as the API's answers (api.ts json): no raw control character in the data.
      event = `event: snapshot\ndata: ${safeJson(await this.snapshot())}\n\n`;
    } catch (err) {
      // As the API says it (lib/dashboard/api.ts): never Redis' own message to every page. A
      // refusal for good (the queue's data format changed since the page connected) is the
      // page's last event: said as the actions say it, then the stream ends.
      refused = err instanceof RedisRefusedError;
      const data = safeJson({ error: publicFailure(err).error });
      event = `event: ${refused ? "refused" : "failure"}\ndata: ${data}\n\n`;
    } finally {
      this.#busy = false;
    }
    const bytes = ENCODER.encode(event);
    const tick = ++this.#ticks;
    for (const [c, feed] of this.#subscribers) {
      if (feed.behind(tick) >= this.behindMax) this.#drop(c, true);
      else if (refused) this.#drop(c, false, () => feed.end(bytes));
      else feed.offer(bytes, tick);
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
    private readonly behindMax?: number,
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
      live = new Live(this.snapshotOf(queue), this.everyMs, this.behindMax);
      this.#lives.set(queue, live);
    }
    return live.subscribe(signal, onStalled);
  }

  close(): void {
    for (const live of this.#lives.values()) live.close();
  }
}
