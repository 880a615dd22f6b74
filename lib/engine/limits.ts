// A queue's rate limits (docs/internals.md, "Rate limits"): the settings, stored as fields of
// the layout key `{queue}:meta` (layoutKey) so they hold across restarts and every worker of
// every shard reads the same: `rate` (`N/<ms>`: at most N jobs started per interval, queue-wide),
// `key_concurrency` (C: at most C jobs of one limit key running), `key_rate` (`R/<ms>`: at most R
// started per interval per key). Workers read them with the pause, every pauseCheckMs
// (lib/worker/pause.ts); the limiter script (limit.lua) reads them itself, so a decision never
// uses a stale setting. Also: the limit key's form, and `holds` (the latest hold's end). A
// rate's text form is rates.ts; the keys held back now, held-keys.ts.
import { InputError } from "../errors.ts";
import { kindOf } from "../option-keys.ts";
import type { Redis } from "../redis/connect.ts";
import { layoutKey } from "./keys.ts";
import { type Rate, rateProblem } from "./rates.ts";

/** A queue's limits; null = none of that kind. */
export interface Limits {
  /** Queue-wide: at most this many jobs started per interval, across all workers and shards. */
  rate: Rate | null;
  /** Per limit key: at most this many jobs running at once. */
  keyConcurrency: number | null;
  /** Per limit key: at most this many jobs started per interval. */
  keyRate: Rate | null;
}

/** No limit at all. */
export const NO_LIMITS: Limits = { rate: null, keyConcurrency: null, keyRate: null };

/** The layout key's fields (lib/engine/keys.ts layoutKey). */
export const LIMIT_FIELDS = {
  rate: "rate",
  keyConcurrency: "key_concurrency",
  keyRate: "key_rate",
  /** The end (Redis' ms) of the latest hold of a key (holdKey): workers check keys till then. */
  holds: "holds",
} as const;

/** Most jobs of one key that may be allowed to run at once. */
export const KEY_CONCURRENCY_MAX = 1_000_000;
/** The longest limit key, in UTF-8 bytes. */
export const LIMIT_KEY_MAX_BYTES = 256;

/** The stored form (`N/<ms>`), or null for a value that is not one (read as no limit). */
function readRate(v: string | null | undefined): Rate | null {
  const m = v ? /^(\d{1,7})\/(\d{1,12})$/.exec(v) : null;
  if (!m) return null;
  const count = Number(m[1]);
  const perMs = Number(m[2]);
  return count >= 1 && perMs >= 1 ? { count, perMs } : null;
}

/** A key concurrency as stored, or null (absent, or not a whole number of 1 or more). */
function readCount(v: string | null | undefined): number | null {
  const n = v && /^\d{1,9}$/.test(v) ? Number(v) : 0;
  return n >= 1 ? n : null;
}

/** The limits from the layout key's fields, in LIMIT_FIELDS' order (rate, key_concurrency, key_rate). */
export function limitsFrom(values: readonly (string | null | undefined)[]): Limits {
  return {
    rate: readRate(values[0]),
    keyConcurrency: readCount(values[1]),
    keyRate: readRate(values[2]),
  };
}

/** Whether any limit is set. */
export function anyLimit(l: Limits): boolean {
  return l.rate !== null || l.keyConcurrency !== null || l.keyRate !== null;
}

/** A queue's limits (one HMGET of its layout key). */
export async function readLimits(client: Redis, prefix: string, queue: string): Promise<Limits> {
  const f = LIMIT_FIELDS;
  const values = await client.sendCommand<(string | null)[]>([
    "HMGET",
    layoutKey(prefix, queue),
    f.rate,
    f.keyConcurrency,
    f.keyRate,
  ]);
  return limitsFrom(values);
}

/** What a worker polls (lib/worker/pause.ts): the pause, the limits, the latest hold's end. */
export interface QueueFlags {
  paused: boolean;
  limits: Limits;
  /** The end of the latest key hold (Redis' ms), 0 when none was ever made. */
  holdsUntil: number;
}

/** The pause, the limits and the latest hold of a queue, in one HMGET of its layout key. */
export async function readQueueFlags(
  client: Redis,
  prefix: string,
  queue: string,
): Promise<QueueFlags> {
  const f = LIMIT_FIELDS;
  const [paused, ...values] = await client.sendCommand<(string | null)[]>([
    ...["HMGET", layoutKey(prefix, queue), "paused"],
    ...[f.rate, f.keyConcurrency, f.keyRate, f.holds],
  ]);
  const holds = Number(values[3]);
  return {
    paused: paused === "1",
    limits: limitsFrom(values),
    holdsUntil: Number.isFinite(holds) ? holds : 0,
  };
}

/** A change of limits: a value sets it, null removes it, absent leaves it. */
export type LimitsChange = { [K in keyof Limits]?: Limits[K] };

/** Writes a change of limits (one call); returns the limits now. */
export async function writeLimits(
  client: Redis,
  prefix: string,
  queue: string,
  change: LimitsChange,
): Promise<Limits> {
  for (const [name, r] of [
    ["rate", change.rate],
    ["keyRate", change.keyRate],
  ] as const) {
    const problem = r ? rateProblem(r) : null;
    if (problem) throw new InputError(`${name} ${JSON.stringify(r)}: ${problem}`);
  }
  if (change.keyConcurrency !== undefined && change.keyConcurrency !== null) {
    const c = change.keyConcurrency;
    if (!Number.isSafeInteger(c) || c < 1 || c > KEY_CONCURRENCY_MAX) {
      throw new InputError(
        `key concurrency must be a whole number from 1 to ${KEY_CONCURRENCY_MAX}`,
      );
    }
  }
  const key = layoutKey(prefix, queue);
  const set: string[] = [];
  const del: string[] = [];
  const put = (field: string, v: string | null | undefined) => {
    if (v === undefined) return;
    if (v === null) del.push(field);
    else set.push(field, v);
  };
  const stored = (r: Rate | null | undefined) => (r ? `${r.count}/${r.perMs}` : r);
  put(LIMIT_FIELDS.rate, stored(change.rate));
  const c = change.keyConcurrency;
  put(LIMIT_FIELDS.keyConcurrency, c === undefined || c === null ? c : String(c));
  put(LIMIT_FIELDS.keyRate, stored(change.keyRate));
  if (set.length > 0) await client.sendCommand(["HSET", key, ...set]);
  if (del.length > 0) await client.sendCommand(["HDEL", key, ...del]);
  return readLimits(client, prefix, queue);
}

/** A limit key of 1 to LIMIT_KEY_MAX_BYTES printable ASCII characters: never a problem. */
const PLAIN_KEY = new RegExp(`^[\\x20-\\x7e]{1,${LIMIT_KEY_MAX_BYTES}}$`);

/**
 * The problem with a job's limit key (`JobSpec.limitKey`), or null: 1 to LIMIT_KEY_MAX_BYTES
 * bytes of UTF-8, no control characters (it is printed by `info` and names Redis keys).
 */
export function limitKeyProblem(key: unknown): string | null {
  // The common key (a host) is short printable ASCII: its length is its size in bytes, and it
  // needs no encoding to tell (this runs for every job a bulk enqueue prepares).
  if (typeof key === "string" && PLAIN_KEY.test(key)) return null;
  if (typeof key !== "string") return `limitKey must be a string, got ${kindOf(key)}`;
  const bytes = new TextEncoder().encode(key).length;
  if (bytes < 1 || bytes > LIMIT_KEY_MAX_BYTES) {
    return `limitKey must be 1 to ${LIMIT_KEY_MAX_BYTES} bytes, got ${bytes}`;
  }
  if (/[\u0000-\u001f\u007f-\u009f]/.test(key)) return "limitKey may not hold control characters";
  return null;
}
