// Worker logs: one line per event, human-readable on a terminal or JSON lines for machines.
// Fields carry text from outside (URLs, errors, page titles): no control character is written
// raw, in either format (lib/safe-text.ts).
import { ConfigError, callQuietly, describeError } from "./errors.ts";
import { kind } from "./option-keys.ts";
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
  // "JSON" (a LOG_FORMAT=JSON) wrote human lines unsaid; a write that is no function threw at
  // the first line, inside a guarded logger: every line lost without a word.
  if (format !== "human" && format !== "json") {
    throw new ConfigError(`log format must be human or json, got ${kind(format)}`);
  }
  for (const [what, f] of [
    ["write", write],
    ["now", now],
  ] as const) {
    if (typeof f !== "function")
      throw new ConfigError(`${what} must be a function, got ${kind(f)}`);
  }
  const line = (level: LogLevel, event: string, fields: Record<string, unknown>) => {
    const time = new Date(now()).toISOString();
    if (format === "json") {
      // The line's own three fields first and kept: a caller's field of the same name (a
      // task's ctx.log fields) does not replace them.
      const own = { time, level, event };
      return safeJson(Object.assign({ ...own }, fields, own), fieldReplacer());
    }
    const parts = Object.entries(fields)
      .filter(([, v]) => v !== undefined && v !== null && v !== "")
      .map(([k, v]) => `${k}=${formatValue(v)}`);
    const tag = level === "info" ? "" : `${level.toUpperCase()} `;
    return safeText(
      `${time.slice(11, 23)} ${tag}${event}${parts.length ? ` ${parts.join(" ")}` : ""}`,
    );
  };
  return {
    log(level, event, fields = {}) {
      let text: string;
      try {
        text = line(level, event, fields);
      } catch {
        // A field that cannot be written (a getter or toJSON that throws): the event still is,
        // with the other fields (a ctx.log's job and task).
        text = line(level, event, writableFields(fields));
      }
      write(text);
    },
  };
}

function formatValue(v: unknown): string {
  const json = typeof v === "string" ? v : JSON.stringify(v, fieldReplacer());
  // An Error, a Date or a BigInt is text: shown as such, not as a JSON string in quotes.
  const s = typeof v !== "string" && json?.startsWith('"') ? (JSON.parse(json) as string) : json;
  return /[\s"]/.test(s) ? JSON.stringify(s) : s;
}

/**
 * A log field's value as its reader needs it, where JSON.stringify would write `{}` or throw and
 * lose the line: an Error as its one line of text (`TypeError: …`), a BigInt (a database's row
 * count) as its digits, an object that contains itself as `[Circular]` where it recurs.
 */
function fieldReplacer(): (this: unknown, key: string, value: unknown) => unknown {
  const ancestors: unknown[] = [];
  // The same objects, to look one up in constant time (a deep object's line stays linear).
  const onPath = new Set<unknown>();
  const push = (...values: unknown[]) => {
    for (const v of values) {
      ancestors.push(v);
      onPath.add(v);
    }
  };
  return function (this: unknown, _key: string, value: unknown) {
    if (typeof value === "bigint") return value.toString();
    if (typeof value !== "object" || value === null) return value;
    // `this` is the object holding `value`: the path down to it is the ancestors up to `this`.
    while (ancestors.length > 0 && ancestors.at(-1) !== this) onPath.delete(ancestors.pop());
    if (onPath.has(value)) return "[Circular]";
    if (value instanceof Error) {
      const shown = errorShown(value);
      // Its fields are written next, held by `shown`: the error is their ancestor too.
      if (typeof shown !== "string") push(value, shown);
      return shown;
    }
    push(value);
    return value;
  };
}

/**
 * An Error as its text, or, when it has fields of its own (a database's `code` and `detail`, a
 * failed fetch's `code`, which JSON wrote alone before), `{ message: text, ...fields }`.
 */
function errorShown(err: Error): string | Record<string, unknown> {
  const text = errorText(err);
  // `message` first in the line, and the text's, whatever an own `message` field holds.
  if (Object.keys(err).length === 0) return text;
  return Object.assign<Record<string, unknown>, Error, object>({ message: text }, err, {
    message: text,
  });
}

/** An Error as one line: `SyntaxError: …`, or its message alone for a plain Error. */
function errorText(err: Error): string {
  const message = describeError(err);
  try {
    const name = String(err.name);
    return name && name !== "Error" && name !== message ? `${name}: ${message}` : message;
  } catch {
    return message;
  }
}

/**
 * `fields` read one by one: each that cannot be read or written (a getter or a toJSON that
 * throws) is why, as its value (`bad="not written: …"`); the others are kept as written.
 */
export function writableFields(fields: unknown): Record<string, unknown> {
  if (fields === null || fields === undefined) return {}; // none given, as in a JSON line
  const notWritten = (err: unknown) => `not written: ${describeError(err)}`;
  let keys: string[];
  try {
    keys = Object.keys(fields as object);
  } catch (err) {
    return { fields: notWritten(err) };
  }
  const out: Record<string, unknown> = Object.create(null);
  for (const key of keys) {
    try {
      const json = JSON.stringify((fields as Record<string, unknown>)[key], fieldReplacer());
      out[key] = json === undefined ? undefined : JSON.parse(json);
    } catch (err) {
      out[key] = notWritten(err);
    }
  }
  return out;
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
