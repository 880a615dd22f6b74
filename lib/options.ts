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
  type WorkerOptions,
} from "./config.ts";
import { HANDOVER_SUFFIX, MAX_SHARDS } from "./engine/keys.ts";
import { ConfigError } from "./errors.ts";
import { shownInput } from "./safe-text.ts";

/** Merges options over the defaults and refuses values that cannot work. */
export function resolveOptions<T extends Partial<ProducerOptions & WorkerOptions>>(
  given: T,
): ProducerOptions & WorkerOptions {
  // connect(null) (a config read from nowhere): said so, not a TypeError from within.
  if (typeof given !== "object" || given === null) {
    throw new ConfigError(
      `options must be an object, got ${given === null ? "null" : typeof given}`,
    );
  }
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const o = { ...defaults, ...defined } as ProducerOptions & WorkerOptions;
  if (given.reclaimEveryMs === undefined) {
    o.reclaimEveryMs = Math.max(1, Math.min(defaults.reclaimEveryMs, Math.ceil(o.claimIdleMs / 2)));
  }
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
  if (o.name.endsWith(HANDOVER_SUFFIX)) {
    throw new ConfigError(
      `worker name ${JSON.stringify(o.name)} must not end in "${HANDOVER_SUFFIX}" (reserved for the jobs of a worker that died)`,
    );
  }
  if (o.shards !== undefined) positiveInt(o, "shards", 1, MAX_SHARDS);
  if (!DURABILITIES.includes(o.durability)) {
    throw new ConfigError(
      `durability must be ${DURABILITIES.join(" or ")}, got ${JSON.stringify(o.durability)}`,
    );
  }
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
    throw new ConfigError(`healthPort must be a port number (0 = off), got ${o.healthPort}`);
  }
  return o;
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
    throw new ConfigError(`${key} must be a whole number from ${min} to ${max}, got ${String(v)}`);
  }
}
