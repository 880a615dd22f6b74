// One live connection's feed: what its socket is sent, a slice at a time, only when the
// socket has taken the slice before (the stream's pull). A snapshot made while the reader is
// behind replaces the one it has not started, so the reader gets the newest next, never a
// queue of old ones; the snapshot it is part-way through is finished first (an event cut in
// half would not parse). What a feed holds is then a reference to at most two snapshots,
// shared with every other feed, and the one slice the server copied for its socket.

type Controller = ReadableStreamDefaultController<Uint8Array>;

export class Feed {
  /** The event being sent, how much of it is handed over, and the tick that made it. */
  #sending: { bytes: Uint8Array; at: number; tick: number } | null;
  /** The newest event, not started yet. */
  #next: { bytes: Uint8Array; tick: number } | null = null;
  /** The tick since which the feed has waited for its reader (see behind()). */
  #since: number;
  /** Wakes the pull that waits for something to send. */
  #wake: (() => void) | undefined;

  constructor(
    private readonly controller: Controller,
    private readonly sliceBytes: number,
    /** The Live's tick count now. */
    private readonly ticks: () => number,
    first: Uint8Array,
  ) {
    this.#sending = { bytes: first, at: 0, tick: ticks() };
    this.#since = ticks();
  }

  /** Offers an event made at `tick`. */
  offer(bytes: Uint8Array, tick: number): void {
    this.#next = { bytes, tick };
    this.#wake?.();
  }

  /** Ends the stream after the event part-way sent, with `bytes` (a short last word). */
  end(bytes: Uint8Array): void {
    const s = this.#sending;
    if (s !== null) this.controller.enqueue(s.bytes.subarray(s.at)); // never an event cut in half
    this.#sending = null;
    this.#next = null;
    this.controller.enqueue(bytes);
    this.controller.close();
  }

  /**
   * How many ticks the reader is behind at `tick`: since the snapshot it is part-way through
   * was made, or, with a new one waiting, since it took its last slice. 0 with nothing to send.
   */
  behind(tick: number): number {
    if (this.#sending === null && this.#next === null) return 0;
    return tick - (this.#sending?.tick ?? this.#since);
  }

  /** The stream's pull: the next slice, or a wait for the next event. */
  pull(): Promise<void> | undefined {
    if (this.#sending === null && !this.#take()) {
      return new Promise<void>((resolve) => {
        this.#wake = () => {
          this.#wake = undefined;
          resolve(this.pull());
        };
      });
    }
    const s = this.#sending!;
    const end = Math.min(s.at + this.sliceBytes, s.bytes.byteLength);
    this.controller.enqueue(s.bytes.subarray(s.at, end));
    s.at = end;
    if (end < s.bytes.byteLength) return;
    this.#sending = null;
    this.#since = this.ticks();
  }

  /** Starts the newest event; false when there is none. */
  #take(): boolean {
    const next = this.#next;
    if (next === null) return false;
    this.#next = null;
    this.#sending = { bytes: next.bytes, at: 0, tick: next.tick };
    return true;
  }
}
