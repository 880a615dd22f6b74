// Jobs read under a rate limit that wait in the worker for their start slot (lib/worker/limited.ts):
// each holds one of the worker's concurrency slots (Jobs counts them as running) and its lease is
// renewed, and a timer starts it (or asks the limiter again). Dropped unstarted when the worker
// stops (the release gives the entries back, no attempt spent) or a lease is lost.
import type { Startable } from "./entries.ts";

export class SlotWaits {
  #waiting = new Map<string, { job: Startable; timer: ReturnType<typeof setTimeout> }>();
  #closed = false;

  constructor(
    /** A waiting job left without starting here: its slot of the concurrency is free. */
    private readonly onFreed: () => void,
    /** A waiting job was dropped: its limit key's running slot frees (if it had one). */
    private readonly onDropped: (job: Startable) => void,
  ) {}

  get size(): number {
    return this.#waiting.size;
  }

  /** Entry ids of the waiting jobs (leased with the running ones). */
  entryIds(): string[] {
    return [...this.#waiting.keys()];
  }

  has(entryId: string): boolean {
    return this.#waiting.has(entryId);
  }

  jobs(): Startable[] {
    return [...this.#waiting.values()].map((w) => w.job);
  }

  /** Holds `job` for `inMs`, then calls `due` (nothing once closed; a second defer replaces). */
  defer(job: Startable, inMs: number, due: () => void): void {
    if (this.#closed) return;
    this.take(job.entryId);
    const timer = setTimeout(() => {
      this.#waiting.delete(job.entryId);
      due();
    }, inMs);
    this.#waiting.set(job.entryId, { job, timer });
  }

  /** Takes a job out to start it now (its slot stays taken); undefined when not waiting. */
  take(entryId: string): Startable | undefined {
    const w = this.#waiting.get(entryId);
    if (!w) return undefined;
    clearTimeout(w.timer);
    this.#waiting.delete(entryId);
    return w.job;
  }

  /** A waiting job given back unstarted (held, or its lease lost): its slot frees. */
  undefer(entryId: string): Startable | undefined {
    const job = this.take(entryId);
    if (job) this.onFreed();
    return job;
  }

  /** Drops every waiting job (`close`: none may wait any more). */
  drop(close = false): void {
    this.#closed ||= close;
    for (const { job, timer } of this.#waiting.values()) {
      clearTimeout(timer);
      this.onDropped(job);
    }
    this.#waiting.clear();
  }
}
