// A queue a worker serves without its priority levels (it had no high or low job when the
// worker started: lib/worker/queues.ts) may get one later; the worker then reads no high or low
// job of it until restarted (docs/internals.md, "Priority levels"). This watch reads each such
// queue's shard metas every heartbeat and tells `onLevels` once per queue: the CLI worker then
// restarts itself (lib/cli/worker.ts); a library user's worker without `onLevels` says so in a
// warning naming the queue, so its operator learns it from the log, not from jobs that never start.
import type { Logger } from "../log.ts";
import type { Redis } from "../redis/connect.ts";
import { every } from "../time.ts";
import type { ServedShard } from "./queues.ts";

export class LevelsWatch {
  /** Queue name → its shards' meta keys, for queues served without levels not yet seen to have them. */
  #unserved = new Map<string, string[]>();
  #stopTimer: (() => void) | null = null;

  constructor(
    private readonly client: () => Redis,
    served: readonly ServedShard[],
    private readonly log: Logger,
    private readonly onLevels?: (queue: string) => void,
  ) {
    const leveled = new Set(served.filter((s) => s.level !== "normal").map((s) => s.queue));
    for (const s of served) {
      if (leveled.has(s.queue)) continue;
      this.#unserved.set(s.queue, [...(this.#unserved.get(s.queue) ?? []), s.keys.meta]);
    }
  }

  /** Looks once: a queue whose shard says `levels 1` is warned of, then no longer read. */
  async read(): Promise<void> {
    for (const [queue, metas] of [...this.#unserved]) {
      const said = await Promise.all(
        metas.map((m) => this.client().sendCommand<string | null>(["HGET", m, "levels"])),
      );
      if (!said.includes("1")) continue;
      this.#unserved.delete(queue);
      if (this.onLevels) {
        this.log.log("info", "queue has high or low priority jobs now", { queue });
        this.onLevels(queue);
        continue;
      }
      const says = "queue has high or low priority jobs now: restart the worker to run them";
      this.log.log("warn", says, { queue });
    }
  }

  /** Reads every `everyMs` until stop() (nothing to do: no timer). */
  start(everyMs: number, onError: (err: unknown) => void): void {
    if (this.#unserved.size === 0) return;
    this.#stopTimer ??= every(everyMs, () => this.read(), onError);
  }

  stop(): void {
    this.#stopTimer?.();
    this.#stopTimer = null;
  }
}
