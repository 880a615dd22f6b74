// The keys an options object of the library's entry points may have (Queue.connect,
// Worker.start, Admin.connect, Schedules.connect, startScheduler, startDashboard, runTask): a
// key it does not know is refused, since a misspelt one (`concurency: 2`) would otherwise be
// dropped without a word and the default run in its place.
import { ConfigError } from "./errors.ts";
import { shownInput } from "./safe-text.ts";

/**
 * `keys`, checked by the compiler to name every key of T: a key list kept beside its interface
 * cannot miss one added later.
 */
export const keysOf =
  <T>() =>
  <const K extends readonly (keyof T & string)[]>(
    keys: K & ([keyof T] extends [K[number]] ? unknown : "a key of the type is missing"),
  ): readonly string[] =>
    keys;

/** Refuses `given` unless it is an object whose every key is in `allowed` (ConfigError). */
export function checkKeys(given: unknown, allowed: readonly string[], what = "options"): void {
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw new ConfigError(`${what} must be an object, got ${kind(given)}`);
  }
  const problem = unknownKeyProblem(given, allowed);
  if (problem !== undefined) throw new ConfigError(problem);
}

/** `unknown option <key> (did you mean <near>?)` for the first key not in `allowed`, if any. */
export function unknownKeyProblem(given: object, allowed: readonly string[]): string | undefined {
  for (const key of Object.keys(given)) {
    if (allowed.includes(key)) continue;
    const near = nearest(key, allowed);
    const hint = near === undefined ? "" : ` (did you mean ${near}?)`;
    return `unknown option ${shownInput(key)}${hint}`;
  }
  return undefined;
}

/**
 * The key of `allowed` that `key` spells another way, if any: the same letters in another case,
 * with `_` or `-` between words, or without its unit (`delay` for `delayMs`). Narrower than a
 * misspelling: for objects whose other keys are the caller's own (a job spec carries them).
 */
export function respelt(key: string, allowed: readonly string[]): string | undefined {
  // Only between letters or digits: `_id`, a key of the caller's own (MongoDB's), is no `id`.
  const k = key.toLowerCase().replace(/(?<=[a-z0-9])[_-]+(?=[a-z0-9])/g, "");
  return allowed.find((a) => {
    if (a === key) return false;
    const c = a.toLowerCase();
    return k === c || k === c.replace(/(ms|s)$/, "");
  });
}

/** How a value of the wrong kind is named in an error: a number or null shown, else its type. */
export function kind(v: unknown): string {
  if (v === null || v === undefined || typeof v === "number" || typeof v === "boolean") {
    return String(v);
  }
  if (typeof v === "string") return `"${shownInput(v)}"`;
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/**
 * What a value is, for a call's message (InputError): its kind, and a short text of a primitive
 * or a Date, so "5000" is never shown as the number it looks like (`got the string "5000"`).
 */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "string") return `the string "${shownInput(value, 40)}"`;
  if (value instanceof Date) return `the Date ${String(value)}`;
  if (typeof value === "object") return Array.isArray(value) ? "an array" : "an object";
  if (typeof value === "number") return `the number ${value}`;
  return `a ${typeof value}`;
}

/**
 * The allowed key closest to `key`, when it is a likely misspelling: 2 edits or fewer, the
 * unit at its end aside.
 */
function nearest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const k = key.toLowerCase();
    const c = candidate.toLowerCase();
    // `timeout` for timeoutMs: the unit left off is no misspelling.
    const d = Math.min(distance(k, c), distance(k, c.replace(/(ms|s)$/, "")));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance; keys are short, so the plain two-row table is cheap. */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 100) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const change = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, change));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** A logger a worker or a scheduler can call: an object with a log function (ConfigError). */
export function checkLogger(logger: unknown): void {
  if (logger !== undefined && typeof (logger as { log?: unknown } | null)?.log !== "function") {
    throw new ConfigError(`logger must be an object with a log function, got ${kind(logger)}`);
  }
}
