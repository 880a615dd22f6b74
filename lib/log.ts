// Worker logs: one line per event, human-readable on a terminal or JSON lines for machines.
// Fields carry text from outside (URLs, errors, page titles): no control character is written
// raw, in either format (lib/safe-text.ts).
import { callQuietly } from "./errors.ts";
import { safeJson, safeText } from "./safe-text.ts";

export type LogFormat = "human" | "json";
export type LogLevel = "info" | "warn" | "error";

export interface Logger {
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
}

/** Writes one line per event to `write` (stdout by default). */
export function createLogger(
  format: LogFormat = "human",
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  now: () => number = Date.now,
): Logger {
  return {
    log(level, event, fields = {}) {
      const time = new Date(now()).toISOString();
      if (format === "json") {
        // The line's own three fields first and kept: a caller's field of the same name (a
        // task's ctx.log fields) does not replace them.
        const own = { time, level, event };
        write(safeJson(Object.assign({ ...own }, fields, own)));
        return;
      }
      const parts = Object.entries(fields)
        .filter(([, v]) => v !== undefined && v !== null && v !== "")
        .map(([k, v]) => `${k}=${formatValue(v)}`);
      const tag = level === "info" ? "" : `${level.toUpperCase()} `;
      const line = `${time.slice(11, 23)} ${tag}${event}${parts.length ? ` ${parts.join(" ")}` : ""}`;
      write(safeText(line));
    },
  };
}

function formatValue(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return /[\s"]/.test(s) ? JSON.stringify(s) : s;
}

/** A logger that drops everything (library default). */
export const silentLogger: Logger = { log() {} };

/**
 * `log` made safe to call: a line it throws on (or, async, rejects on) is dropped. A worker logs
 * from timers, promise callbacks and its stop, where a logger's throw would stall a slot, leave
 * `stop()` unsettled or end the host with an unhandled rejection.
 */
export function guardedLogger(log: Logger): Logger {
  if (log === silentLogger) return log; // callers tell a silent logger by its identity
  return { log: (level, event, fields) => callQuietly(() => log.log(level, event, fields)) };
}

/**
 * Logs a recurring failure at most once per `everyMs`, saying how many were left out: while
 * Redis is away every command fails, and one line a second says as much as a thousand.
 */
export function throttled(
  log: Logger,
  event: string,
  everyMs = 1_000,
): (fields: Record<string, unknown>) => void {
  let quietUntil = 0;
  let suppressed = 0;
  return (fields) => {
    const now = performance.now();
    if (now < quietUntil) {
      suppressed++;
      return;
    }
    log.log("warn", event, { ...fields, alsoFailed: suppressed || undefined });
    quietUntil = now + everyMs;
    suppressed = 0;
  };
}
