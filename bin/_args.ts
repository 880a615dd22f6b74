// The options several commands share (--redis-url, --queue, --prefix, --shards, --durability)
// and the checks of a value given to one (a whole number, a number of seconds, an optional
// value): each read from the argument, then the environment, then the default, and a bad one
// refused in one line (UsageError: exit 2).
import type { ArgsDef } from "citty";
import { DURABILITIES, type Durability, defaults, INTERVAL_LIMIT_MS } from "../lib/config.ts";
import { MAX_SHARDS, shardCountProblem } from "../lib/engine/keys.ts";
import { shownInput } from "../lib/safe-text.ts";
import { UsageError } from "./_exit.ts";

export const commonArgs = {
  "redis-url": {
    type: "string",
    description: `Redis URL, redis:// or rediss:// (TLS; a private CA goes in env REDIS_TLS_CA), or redis+cluster://host:port[,host:port…] (rediss+cluster://) for a Redis Cluster; may hold user:password (env REDIS_URL; default ${defaults.redisUrl}). A command Redis leaves unanswered for ${defaults.commandTimeoutMs} ms (env COURIER_COMMAND_TIMEOUT_MS) fails it, exit 6 (a worker reconnects; the dashboard answers 503; info --watch and --wait try again)`,
  },
  queue: {
    type: "string",
    description: `Queue name (env COURIER_QUEUE; default ${defaults.queue})`,
  },
  prefix: {
    type: "string",
    description: `Prefix of every Redis key (env COURIER_PREFIX; default ${defaults.prefix})`,
  },
} as const satisfies ArgsDef;

/** `--shards N` for the commands that may create a queue (trigger, worker). */
export const shardsArgs = {
  shards: {
    type: "string",
    description:
      "Shards of a new queue, spread over a Redis Cluster's masters (env COURIER_SHARDS; default: what the queue has, 1 for a new one); fixed once the queue exists",
  },
} as const satisfies ArgsDef;

/** The `--shards` option (then env COURIER_SHARDS), or undefined: the queue's own count. */
export function shardsArg(args: Record<string, unknown>): number | undefined {
  const given = str(args.shards);
  if (given !== undefined) return intArg(given, "shards", 1, MAX_SHARDS);
  const env = process.env.COURIER_SHARDS;
  if (env === undefined || env === "") return undefined;
  const problem = shardCountProblem(env);
  if (problem) throw new UsageError(problem);
  return Number(env);
}

/** `--durability` for the commands that write jobs or outcomes (trigger, worker). */
export const durabilityArgs = {
  durability: {
    type: "string",
    description:
      "async: a write counts once the shard's master has it (a master that dies can take its last writes with it); replicated: once a replica has it too (WAIT 1 on that master, up to 1 s): trigger exits 6 when no replica confirms, a worker logs a warning (docs/cluster.md, Durability). Env COURIER_DURABILITY; default async",
  },
} as const satisfies ArgsDef;

/** The `--durability` option (then env COURIER_DURABILITY), or undefined: the default. */
export function durabilityArg(args: Record<string, unknown>): Durability | undefined {
  const given = str(args.durability);
  const env = process.env.COURIER_DURABILITY;
  const value = given ?? (env === "" ? undefined : env);
  if (value === undefined || (DURABILITIES as readonly string[]).includes(value)) {
    return value as Durability | undefined;
  }
  const from = given === undefined ? "COURIER_DURABILITY" : "--durability";
  throw new UsageError(`${from} must be ${DURABILITIES.join(" or ")}, got "${value.slice(0, 20)}"`);
}

/** Queue options from the common arguments, then the environment, then the defaults. */
export function queueArgs(args: Record<string, unknown>) {
  return {
    redisUrl: str(args["redis-url"]) ?? process.env.REDIS_URL ?? defaults.redisUrl,
    queue: str(args.queue) ?? process.env.COURIER_QUEUE ?? defaults.queue,
    prefix: str(args.prefix) ?? process.env.COURIER_PREFIX ?? defaults.prefix,
    commandTimeoutMs: commandTimeoutEnv(),
  };
}

/**
 * COURIER_COMMAND_TIMEOUT_MS: how long a command may go unanswered before Redis is taken for
 * stalled (QueueOptions.commandTimeoutMs); unset: the default.
 */
function commandTimeoutEnv(): number | undefined {
  const value = process.env.COURIER_COMMAND_TIMEOUT_MS;
  return wholeNumber(value, "COURIER_COMMAND_TIMEOUT_MS", 1, INTERVAL_LIMIT_MS, " of ms");
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/**
 * Parses a whole number option, or exits with a one-line usage error. Plain decimal digits
 * only: Number() would also take `1e3`, `0x10` or `1_000`-like surprises and ` 12 `.
 */
export function intArg(value: unknown, name: string, min: number, max: number): number | undefined {
  return wholeNumber(value, `--${name}`, min, max);
}

/** intArg's check of an option or an environment variable (`what`), the value's `unit` said. */
function wholeNumber(value: unknown, what: string, min: number, max: number, unit = "") {
  if (value === undefined || value === "") return undefined;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    const shown = shownInput(String(value));
    throw new UsageError(
      `${what} must be a whole number${unit} from ${min} to ${max}, got "${shown}"`,
    );
  }
  return n;
}

/**
 * intArg of an option that an environment variable stands in for (`--port`,
 * COURIER_DASHBOARD_PORT): a bad value is named where it came from, the option when given.
 */
export function intArgOrEnv(
  value: unknown,
  name: string,
  envName: string,
  min: number,
  max: number,
): number | undefined {
  if (value !== undefined) return intArg(value, name, min, max);
  return wholeNumber(process.env[envName], envName, min, max);
}

/**
 * `--wait` takes an optional number of seconds. citty would swallow the next option as its
 * value, so a bare `--wait` is rewritten to `--wait=forever` before parsing.
 */
export function optionalValue(rawArgs: string[], flag: string, bare: string): string[] {
  return rawArgs.map((arg, i) => {
    if (arg !== `--${flag}`) return arg;
    const next = rawArgs[i + 1];
    // A negative number (`--wait -1`) is a value to refuse, not the next option.
    const isOption = next?.startsWith("-") && !/^-\d/.test(next);
    return next === undefined || isOption ? `--${flag}=${bare}` : arg;
  });
}

/** A number of seconds as `--wait` takes it: decimal only (`1.5`), as intArg: not `1e3` or `0x10`. */
export const SECONDS = /^(\d+\.?\d*|\.\d+)$/;

/** Seconds to wait from a `--wait` value: Infinity for a bare flag. */
export function waitSeconds(value: unknown): number | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === "forever" || value === true || value === "") return Number.POSITIVE_INFINITY;
  const n = typeof value === "string" && SECONDS.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n < 0) {
    throw new UsageError(`--wait takes a number of seconds, got "${shownInput(String(value))}"`);
  }
  return n;
}
