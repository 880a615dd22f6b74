// Whether the worker's queue is paused (`queue.ts pause NAME`, lib/engine/pause.ts): read once
// before the first job is taken (a worker started during a pause takes nothing), then every
// pauseCheckMs, one HMGET per worker whatever its shards (with the queue's rate limits and
// latest key hold: lib/engine/limits.ts): nothing per job. While paused, the
// read loops take no slot (lib/worker/shard-wiring.ts), so nothing is read, claimed or taken by a
// finish; jobs running go on to their end. What a blocking read sent before the pause was seen
// is held, pending and leased, and starts on resume (docs/internals.md, "Pause").
import { type Limits, NO_LIMITS, readQueueFlags } from "../engine/limits.ts";
import type { Logger } from "../log.ts";
import type { Redis } from "../redis/connect.ts";
import { every } from "../time.ts";

export class PauseWatch {
  #paused = false;
  /**
   * The queue's rate limits and latest key hold, read with the pause (the same HMGET): what
   * decides whether a job asks the limiter at all (lib/worker/limited.ts), so a queue without
   * limits costs nothing per job.
   */
  limits: Limits = NO_LIMITS;
  holdsUntil = 0;
  /**
   * The limits read differ from the last read: jobs a worker keeps asking again later (the
   * queue's next slot was past the horizon, by the old rate) ask now (lib/worker/limited.ts).
   */
  onLimits: () => void = () => {};
  #stopTimer: (() => void) | null = null;

  constructor(
    private readonly client: () => Redis,
    private readonly names: { prefix: string; queue: string },
    private readonly log: Logger,
    /** The pause began or ended: the read loops look again. */
    private readonly onChange: () => void,
  ) {}

  get paused(): boolean {
    return this.#paused;
  }

  /** Reads the pause now (the start waits for it). */
  async read(): Promise<void> {
    const flags = await readQueueFlags(this.client(), this.names.prefix, this.names.queue);
    const { paused } = flags;
    const changed = JSON.stringify(flags.limits) !== JSON.stringify(this.limits);
    this.limits = flags.limits;
    if (changed) this.onLimits();
    this.holdsUntil = flags.holdsUntil;
    if (paused === this.#paused) return;
    this.#paused = paused;
    const event = paused ? "queue paused: taking no new jobs" : "queue resumed";
    this.log.log("info", event, { queue: this.names.queue });
    this.onChange();
  }

  /** Reads it every `everyMs` until stop(); a failed read keeps the last answer. */
  start(everyMs: number, onError: (err: unknown) => void): void {
    this.#stopTimer ??= every(everyMs, () => this.read(), onError);
  }

  stop(): void {
    this.#stopTimer?.();
    this.#stopTimer = null;
  }
}
