// `queue.ts limit NAME`: a queue's rate limits set or shown (docs/internals.md, "Rate limits").
// Parsing the flags into a change, and the text and JSON of the limits; bin/queue.ts prints.
import type { Limits, LimitsChange } from "../engine/limits.ts";
import { formatRate, parseRate } from "../engine/rates.ts";
import { InputError } from "../errors.ts";
import { safeText, shownInput } from "../safe-text.ts";

/** The flags as citty gives them (strings, or undefined when absent). */
export interface LimitFlags {
  rate?: string;
  keyConcurrency?: string;
  keyRate?: string;
  clear?: boolean;
}

/** `off` (or `none`) removes one limit. */
const OFF = /^(off|none)$/i;

/**
 * The change the flags ask for, or null when none is given (show the limits). Throws
 * InputError (exit 2) for a bad value, or `--clear` with another flag.
 */
export function limitsChange(f: LimitFlags): LimitsChange | null {
  const given = [f.rate, f.keyConcurrency, f.keyRate].some((v) => v !== undefined && v !== "");
  if (f.clear) {
    if (given) throw new InputError("--clear removes every limit: give it alone");
    return { rate: null, keyConcurrency: null, keyRate: null };
  }
  if (!given) return null;
  const change: LimitsChange = {};
  if (f.rate) change.rate = OFF.test(f.rate) ? null : parseRate(f.rate);
  if (f.keyRate) change.keyRate = OFF.test(f.keyRate) ? null : parseRate(f.keyRate);
  if (f.keyConcurrency) change.keyConcurrency = concurrency(f.keyConcurrency);
  return change;
}

function concurrency(text: string): number | null {
  if (OFF.test(text)) return null;
  const n = /^\d{1,7}$/.test(text) ? Number(text) : 0;
  if (n < 1) {
    throw new InputError(
      `--key-concurrency must be a whole number from 1 to 1000000 (or off), got "${shownInput(text, 20)}"`,
    );
  }
  return n;
}

/** What `queue limit NAME` prints: one line per limit. */
export function limitsLines(queue: string, l: Limits): string {
  const name = safeText(queue);
  const rate = l.rate ? `${formatRate(l.rate)} started, across all workers` : "none";
  const keyRate = l.keyRate ? `${formatRate(l.keyRate)} started per key` : "none";
  const keyC = l.keyConcurrency === null ? "none" : `${l.keyConcurrency} running per key`;
  return [
    `queue ${name} limits:`,
    `  rate             ${rate}`,
    `  key concurrency  ${keyC}`,
    `  key rate         ${keyRate}`,
  ].join("\n");
}

/** The JSON of `queue limit NAME --json`. */
export function limitsJson(queue: string, l: Limits) {
  const rate = (r: Limits["rate"]) =>
    r ? { count: r.count, perMs: r.perMs, text: formatRate(r) } : null;
  return { queue, rate: rate(l.rate), keyConcurrency: l.keyConcurrency, keyRate: rate(l.keyRate) };
}
