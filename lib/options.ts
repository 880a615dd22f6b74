// Options as a caller gives them, merged over the defaults (lib/config.ts) and checked: a value
// that cannot work is refused here (ConfigError, one line), before any connection is made.
import {
  DURABILITIES,
  defaults,
  INTERVAL_LIMIT_MS,
  MAX_ATTEMPTS_LIMIT,
  PREFETCH_LIMIT,
  type ProducerOptions,
  QUEUE_NAME,
  RETRY_WINDOW_LIMIT_S,
  WORKER_NAME,
  type WorkerOptions,
} from "./config.ts";
import { DASHBOARD_KEYS } from "./dashboard/options.ts";
import { HANDOVER_SUFFIX, MAX_SHARDS } from "./engine/keys.ts";
import { ConfigError } from "./errors.ts";
import { checkKeys, kind } from "./option-keys.ts";
import { maskUrl } from "./redis/url.ts";
import { shownInput } from "./safe-text.ts";
import { WORKER_KEYS } from "./worker/worker-config.ts";

// connectTimeoutMs is a default no option sets (ConnectDefaults).
const { connectTimeoutMs: _notAnOption, ...optionDefaults } = defaults;

/** The keys resolveOptions takes (an entry point adds its own: `extra`). */
export const OPTION_KEYS: readonly string[] = Object.keys(optionDefaults);

/**
 * Every key some entry point of the library takes (Queue.connect, Worker.start, Admin.connect,
 * Schedules.connect, startScheduler, startDashboard). One config object is often handed to
 * several of them, or `defaults` spread into one: a key is refused only when no entry point
 * knows it (a misspelling, `concurency`), never because it belongs to another; one an entry
 * point has no use for is ignored there. tests/options.entry.test.ts checks that each entry
 * point's own keys are here.
 */
export const ENTRY_KEYS: readonly string[] = [
  ...Object.keys(defaults),
  ...WORKER_KEYS, // Worker.start
  ...["retryConnectS", "waitForMemoryS"], // Queue.connect, Admin.connect
  "onPass", // startScheduler
  ...DASHBOARD_KEYS, // startDashboard
];

/**
 * Refuses a key no entry point takes (checkKeys), and a connectTimeoutMs other than the
 * default's: it is in `defaults` (so a spread of them carries it) but no option sets it.
 */
export function checkEntryKeys(given: unknown): void {
  checkKeys(given, ENTRY_KEYS);
  const connect = (given as { connectTimeoutMs?: unknown }).connectTimeoutMs;
  if (connect !== undefined && connect !== defaults.connectTimeoutMs) {
    throw new ConfigError(
      `connectTimeoutMs is not an option: the connect limit is ${defaults.connectTimeoutMs} ms (defaults.connectTimeoutMs), with retryConnectS to keep trying`,
    );
  }
}

/**
 * Merges options over the defaults and refuses values that cannot work, and keys that are
 * neither an option nor in `extra` (the entry point's own: a Worker's `tasks`). Only undefined
 * means "not given": null is a value like any other, refused where it cannot be one.
 */
export function resolveOptions<T extends Partial<ProducerOptions & WorkerOptions>>(
  given: T,
  extra: readonly string[] = [],
): ProducerOptions & WorkerOptions {
  checkEntryKeys(given);
  const known = new Set([...OPTION_KEYS, ...extra]);
  // Keys of other entry points (a shared config object) are not this one's options.
  const defined = Object.fromEntries(
    Object.entries(given).filter(([k, v]) => v !== undefined && known.has(k)),
  );
  const o = { ...optionDefaults, ...defined } as ProducerOptions & WorkerOptions;
  checkKinds(o);
  if (given.reclaimEveryMs === undefined) {
    o.reclaimEveryMs = Math.max(1, Math.min(defaults.reclaimEveryMs, Math.ceil(o.claimIdleMs / 2)));
  }
  checkNames(o);
  if (o.shards !== undefined) positiveInt(o, "shards", 1, MAX_SHARDS);
  if (!DURABILITIES.includes(o.durability)) {
    throw new ConfigError(
      `durability must be ${DURABILITIES.join(" or ")}, got ${kind(o.durability)}`,
    );
  }
  checkNumbers(o);
  return maskedWhenShown(o);
}

/**
 * The options as they are printed (console.log, util.inspect, JSON.stringify of them or of the
 * Queue, Worker or Admin holding them): the Redis URL with its password masked, so a service
 * that logs its Queue logs no secret. Read as a property, `redisUrl` is the URL as given.
 */
function maskedWhenShown<T extends { redisUrl: string }>(o: T): T {
  const shown = () => ({ ...o, redisUrl: maskUrl(o.redisUrl) });
  Object.defineProperty(o, Symbol.for("nodejs.util.inspect.custom"), { value: shown });
  Object.defineProperty(o, "toJSON", { value: shown });
  return o;
}

/** The options that must be strings, functions or booleans (a number or null is no name). */
function checkKinds(o: ProducerOptions & WorkerOptions): void {
  for (const key of ["redisUrl", "queue", "prefix", "name", "healthHost"] as const) {
    if (typeof o[key] !== "string") {
      throw new ConfigError(`${key} must be a string, got ${kind(o[key])}`);
    }
  }
  for (const key of ["now", "random"] as const) {
    if (typeof o[key] !== "function") {
      throw new ConfigError(`${key} must be a function, got ${kind(o[key])}`);
    }
  }
  if (typeof o.burst !== "boolean") {
    throw new ConfigError(`burst must be true or false, got ${kind(o.burst)}`);
  }
}

function checkNames(o: ProducerOptions & WorkerOptions): void {
  if (!QUEUE_NAME.test(o.queue)) {
    // A worker's list (`COURIER_QUEUE=high,default,low`) reaches every other command too.
    const list = o.queue.includes(",") ? "; a list of queues is for `worker --queue` only" : "";
    const shown = shownInput(o.queue);
    throw new ConfigError(`queue name "${shown}" must be 1-100 letters, digits or _.:-${list}`);
  }
  if (!QUEUE_NAME.test(o.prefix)) {
    throw new ConfigError(
      `key prefix "${shownInput(o.prefix)}" must be 1-100 letters, digits or _.:-`,
    );
  }
  // "" is a Queue's or an Admin's: no worker, no name (Worker.start makes one).
  if (o.name !== "" && !WORKER_NAME.test(o.name)) {
    throw new ConfigError(
      `worker name must be 1-200 printable ASCII characters without spaces (Redis' CLIENT SETNAME takes no other), got "${shownInput(o.name)}"`,
    );
  }
  if (o.name.endsWith(HANDOVER_SUFFIX)) {
    throw new ConfigError(
      `worker name ${JSON.stringify(o.name)} must not end in "${HANDOVER_SUFFIX}" (reserved for the jobs of a worker that died)`,
    );
  }
}

function checkNumbers(o: ProducerOptions & WorkerOptions): void {
  positiveInt(o, "concurrency", 1, 10_000);
  positiveInt(o, "maxAttempts", 1, MAX_ATTEMPTS_LIMIT);
  positiveInt(o, "maxHolds", 0, 1_000);
  positiveInt(o, "enqueueBatchSize", 1, 100_000);
  positiveInt(o, "enqueueBatchBytes", 1, 1_073_741_824);
  for (const key of INTERVALS)
    positiveInt(o, key, key === "shutdownGraceMs" ? 0 : 1, INTERVAL_LIMIT_MS);
  if (o.claimIdleMs < 3 * 10) throw new ConfigError("claimIdleMs must be at least 30");
  positiveInt(o, "memoryHeadroomPct", 0, 1_000);
  positiveInt(o, "prefetch", 0, PREFETCH_LIMIT);
  if (!Number.isInteger(o.healthPort) || o.healthPort < 0 || o.healthPort > 65_535) {
    throw new ConfigError(`healthPort must be a port number (0 = off), got ${kind(o.healthPort)}`);
  }
}

const INTERVALS = [
  "claimIdleMs",
  "reclaimEveryMs",
  "blockMs",
  "jobTimeoutMs",
  "commandTimeoutMs",
  "promoteEveryMs",
  "pauseCheckMs",
  "heartbeatEveryMs",
  "cancelCheckMs",
  "shutdownGraceMs",
  "resultTtlS",
  "failureTtlS",
  "backoffBaseMs",
  "backoffMaxMs",
  "deadMaxLen",
  "eventsMaxLen",
  "progressMinIntervalMs",
  "reconnectMaxMs",
  "replicaWaitMs",
  "prefetchWaitMs",
] as const;

function positiveInt(options: object, key: string, min: number, max: number): void {
  const v = (options as Record<string, unknown>)[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${key} must be a whole number from ${min} to ${max}, got ${kind(v)}`);
  }
}

/**
 * Refuses a time window in seconds (`retryConnectS`, `waitForMemoryS`) that is no number from
 * 0 to RETRY_WINDOW_LIMIT_S: NaN or Infinity would reach Redis as a receipt's TTL.
 */
export function checkWindowS(options: object, key: string): void {
  const v = (options as Record<string, unknown>)[key];
  if (v === undefined) return;
  if (typeof v !== "number" || !(v >= 0 && v <= RETRY_WINDOW_LIMIT_S)) {
    throw new ConfigError(
      `${key} must be a number of seconds from 0 to ${RETRY_WINDOW_LIMIT_S}, got ${kind(v)}`,
    );
  }
}
