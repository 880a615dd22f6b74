// How a worker stops (the base of Worker, lib/worker/worker.ts; over its parts,
// lib/worker/worker-parts.ts): told to, drained in burst mode, refused for good by Redis, or
// its name taken by another start; every shard then stops (lib/worker/stop.ts).

import { INTERVAL_LIMIT_MS } from "../config.ts";
import { type CourierError, UnavailableError } from "../errors.ts";
import { checkCount } from "../queue/call-args.ts";
import { WorkerParts } from "./worker-parts.ts";

export abstract class WorkerStop extends WorkerParts {
  protected stopping = false;
  #stopped: Promise<void> | null = null;
  /** Another start took the worker's name (told once, for every shard). */
  #taken = false;

  /**
   * Why the worker stopped by itself, or null: Redis refused a shard's reads for good (a queue
   * key holding another type of value than Courier writes, or NOPERM), an operator's error that
   * no retry fixes; or its name was taken by another start while it stalled (an
   * UnavailableError); every shard then stops. Set before `stopped` resolves.
   */
  get failure(): CourierError | null {
    for (const shard of this.shardWorkers) if (shard.failure) return shard.failure;
    return null;
  }

  /** Resolves when every shard has stopped and closed its connections. */
  get stopped(): Promise<void> {
    this.#stopped ??= Promise.all(this.shardWorkers.map((s) => s.stopped)).then(() => {
      const counts = { finished: this.processed, failedAttempts: this.failed };
      this.log.log("info", "worker stopped", { worker: this.name, ...counts });
    });
    return this.#stopped;
  }

  /**
   * Graceful stop of every shard: no new reads or claims; in-flight jobs get `graceMs` to
   * finish; what is still running then is given up and released at once to other workers; the
   * worker then leaves each shard's group and closes its connections. Safe to call more than once:
   * a later call whose grace period (counted from that call) ends sooner cuts it to that (a
   * SIGTERM during a long graceful restart); one that ends later changes nothing.
   * A `graceMs` that is no whole number of ms (shutdownGraceMs' range) rejects with InputError
   * and stops nothing.
   */
  async stop(graceMs = this.options.shutdownGraceMs): Promise<void> {
    checkCount(graceMs, "stop's graceMs", 0, INTERVAL_LIMIT_MS);
    if (!this.stopping) {
      this.stopping = true;
      // One deadline for the whole stop: the grace counts from here (lib/worker/stop.ts).
      const from = performance.now();
      // No job starts from here on, not while the schedule loop's pass ends below.
      for (const shard of this.shardWorkers) shard.halt();
      this.health?.stop();
      for (const pause of this.pauses.values()) pause.stop();
      this.levels.stop();
      // The schedule loop's pass (a few calls) ends before the connections close; one stuck
      // on an unreachable Redis is not waited for long (its tick, not advanced, stays due).
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise((resolve) => (timer = setTimeout(resolve, 1_000)));
      await Promise.race([this.schedules?.stop(), bound]);
      clearTimeout(timer);
      await Promise.all(this.shardWorkers.map((s) => s.stop(graceMs, from)));
    } else {
      const at = performance.now() + graceMs;
      for (const shard of this.shardWorkers) shard.cut(at);
    }
    return this.stopped;
  }

  /** `await using worker = await Worker.start(…)`: stopped (its grace, shutdownGraceMs) as the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  protected joinStop(): void {
    if (!this.stopping) void this.stop();
  }

  /**
   * A shard found its worker name held by another start (this process stalled past its hash's
   * TTL, and a worker with the same name started): every shard stops reading and winds down
   * what it runs, leaving the entries pending on the name to that start (lib/worker/stop.ts).
   */
  protected nameTaken(): void {
    if (this.#taken) return;
    this.#taken = true;
    this.log.log("error", "worker name taken by another start; stopping", { worker: this.name });
    const failure = new UnavailableError(
      `worker name "${this.name}" was taken by another start while this process was stalled; stopped without reading again`,
    );
    for (const shard of this.shardWorkers) shard.nameTaken(failure); // all marked before any stops
    void this.stop();
  }
}
