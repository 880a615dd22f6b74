// What a worker says about its connections to Redis: one line when Redis is lost (with the
// cause), one when every connection is back. While Redis is away every connection reports
// every reconnect attempt and every read and command fails; those say nothing the first line
// did not, so they are left out until Redis is back.
import { type Logger, silentLogger } from "../log.ts";

/** Events that only repeat the outage while it lasts. */
const OUTAGE_ECHOES = new Set(["read failed, retrying", "redis command failed"]);

export class Outage {
  #down = new Set<string>();
  #since = 0;
  #log: Logger;
  /**
   * Called each time a connection is ready again after it was lost, before the line is logged:
   * a restarted Redis may have lost its last writes (appendfsync everysec), the worker's reads
   * of its own pending entries among them.
   */
  onReady: (name: string) => void = () => {};

  /** `url` is shown in the lines: give it masked (maskUrl). */
  constructor(
    log: Logger,
    private readonly url: string,
  ) {
    this.#log = log;
  }

  /** A logger that drops the outage's echoes while Redis is lost. */
  get logger(): Logger {
    // Nothing to drop from a silent logger: it stays itself, so callers can tell it is silent.
    if (this.#log === silentLogger) return silentLogger;
    return {
      log: (level, event, fields) => {
        if (this.#down.size > 0 && OUTAGE_ECHOES.has(event)) return;
        this.#log.log(level, event, fields);
      },
    };
  }

  /** Called with each error of connection `name`; only the first of an outage is logged. */
  lost(name: string, cause: string): void {
    if (this.#down.has(name)) return;
    const first = this.#down.size === 0;
    this.#down.add(name);
    if (!first) return;
    this.#since = performance.now();
    this.#log.log("warn", "redis connection lost; reconnecting", {
      redis: this.url,
      error: cause,
    });
  }

  /** Connection `name` is ready again; the line is logged once all of them are. */
  back(name: string): void {
    this.onReady(name);
    if (!this.#down.delete(name) || this.#down.size > 0) return;
    const downMs = Math.round(performance.now() - this.#since);
    this.#log.log("info", "redis connection back", { redis: this.url, downMs });
  }
}
