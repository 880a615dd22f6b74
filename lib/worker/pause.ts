// Whether the worker's queue is paused (`queue.ts pause NAME`, lib/engine/pause.ts): read once
// before the first job is taken (a worker started during a pause takes nothing), then every
// pauseCheckMs, one HGET per worker whatever its shards: nothing per job. While paused, the
// read loops take no slot (lib/worker/shard.ts), so nothing is read, claimed or taken by a
// finish; jobs running go on to their end. What a blocking read sent before the pause was seen
// is held, pending and leased, and starts on resume (docs/internals.md, "Pause").
import { readPaused } from "../engine/pause.ts";
import type { Logger } from "../log.ts";
import type { Redis } from "../redis/connect.ts";
import { every } from "../time.ts";

export class PauseWatch {
  #paused = false;
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
    const paused = await readPaused(this.client(), this.names.prefix, this.names.queue);
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
