// A stop's grace period (lib/worker/stop.ts), which a later stop may cut short: the CLI worker's
// restart for a queue's priority levels waits for its running jobs however long they run (each
// ends by its time limit), and a SIGTERM meanwhile still stops it within shutdownGraceMs of the
// signal, as any SIGTERM does (Worker.stop called again with a shorter grace).
import { INTERVAL_LIMIT_MS } from "../config.ts";
import { within } from "../time.ts";

export class Grace {
  #end = Number.POSITIVE_INFINITY;
  #wake = () => {};
  #cut = this.#next();

  /** When the running jobs are given up (performance.now() time); Infinity before a stop. */
  get end(): number {
    return this.#end;
  }

  /** Ends the grace period at `at` if that is sooner than it ends now, waking the waits on it. */
  cut(at: number): void {
    if (!(at < this.#end)) return;
    this.#end = at;
    const wake = this.#wake;
    this.#cut = this.#next();
    wake();
  }

  /**
   * Waits for `done`, or until `pastMs` after the grace period ends, whichever comes first, the
   * end as it is when it comes (a cut while waiting applies). True when `done` won.
   */
  async until(done: Promise<unknown>, pastMs = 0): Promise<boolean> {
    let won = false;
    const finished = done.then(() => {
      won = true;
    });
    for (;;) {
      const leftMs = this.#end + pastMs - performance.now();
      if (won || !(leftMs > 0)) return won;
      await within(Promise.race([finished, this.#cut]), Math.min(leftMs, INTERVAL_LIMIT_MS));
    }
  }

  #next(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }
}
