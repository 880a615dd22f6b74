// Arguments of `bin/stack.ts`, checked and turned into StackOptions. Pure: tested with tables.
import { resolve } from "node:path";
import { defaults } from "../config.ts";
import { checkDashboardToken } from "../dashboard/options.ts";
import { shardCountProblem } from "../engine/keys.ts";
import { ConfigError } from "../errors.ts";
import { resolveOptions } from "../options.ts";
import { maskUrl } from "../redis/url.ts";
import { safeText } from "../safe-text.ts";
import { isCompiled, REPO_ROOT } from "./_self.ts";

export { REPO_ROOT };

export const stackDefaults = {
  /** Worker processes started (each runs `concurrency` jobs at once). */
  workers: 2,
  /** Port of the local redis-server, on 127.0.0.1. */
  redisPort: 6379,
  /** Where the local Redis keeps its AOF; relative to the repository root (compiled: to cwd). */
  dataDir: ".data/redis",
  /** Where `--cluster`'s nodes keep theirs (not scripts/cluster.ts's `.data/cluster`, which its stop removes). */
  clusterDataDir: ".data/redis-cluster",
  /** Shards of the queue on a `--cluster` stack: two per master (env COURIER_SHARDS overrides). */
  clusterShards: 6,
  queue: defaults.queue,
  prefix: defaults.prefix,
} as const;

export interface StackOptions {
  workers: number;
  redisPort: number;
  /** An existing Redis to use: then no redis-server is started. */
  redisUrl: string | undefined;
  /** Start a local 3+3 Redis Cluster instead of one redis-server. */
  cluster: boolean;
  /** COURIER_SHARDS for the workers and the dashboard of a cluster stack. */
  shards: number;
  /** Absolute path. */
  dataDir: string;
  queue: string;
  /** Prefix of every Redis key, passed to the workers and the dashboard. */
  prefix: string;
  allowPrivate: boolean;
  /** Passed to each worker only when given (else the worker's own default applies). */
  concurrency: number | undefined;
}

/** As citty hands them over: strings for values, booleans for switches. */
export type StackArgs = Record<string, unknown>;

// A dev stack: each worker is a Bun process of its own; more than this is likely a typo.
const MAX_WORKERS = 64;

/**
 * Checks the arguments (unknown options are refused earlier, by bin/_cli.ts) and applies the
 * environment the other commands read too: REDIS_URL, COURIER_QUEUE, COURIER_PREFIX. Throws
 * ConfigError with a one-line message naming the flag.
 */
export function parseStackArgs(
  args: StackArgs,
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): StackOptions {
  const port = optionalInt(args, "redis-port", 1, 65_535);
  const flagUrl = optionalString(args, "redis-url");
  const cluster = args.cluster === true;
  if (port !== undefined && flagUrl !== undefined) {
    throw new ConfigError(
      "give --redis-port (start a Redis here) or --redis-url (use one), not both",
    );
  }
  if (cluster && (port !== undefined || flagUrl !== undefined)) {
    throw new ConfigError(
      `--cluster starts its own nodes on free ports: not with --${port === undefined ? "redis-url" : "redis-port"}`,
    );
  }
  // An explicit --redis-port or --cluster beats REDIS_URL from the environment: flags are the
  // more deliberate.
  const envUrl = port === undefined && !cluster ? env.REDIS_URL || undefined : undefined;
  const redisUrl = flagUrl ?? envUrl;
  if (redisUrl !== undefined) checkRedisUrl(redisUrl, flagUrl ? "--redis-url" : "REDIS_URL");
  const queue = optionalString(args, "queue") ?? (env.COURIER_QUEUE || stackDefaults.queue);
  const prefix = optionalString(args, "prefix") ?? (env.COURIER_PREFIX || stackDefaults.prefix);
  resolveOptions({ queue, prefix }); // the name rules live in one place
  checkDashboardEnv(env);
  const dataDir = optionalString(args, "data-dir");
  return {
    workers: optionalInt(args, "workers", 1, MAX_WORKERS) ?? stackDefaults.workers,
    redisPort: port ?? stackDefaults.redisPort,
    redisUrl,
    cluster,
    shards: cluster ? clusterShards(env) : 1,
    dataDir: resolve(
      dataDir ? cwd : defaultBase(cwd),
      dataDir ?? (cluster ? stackDefaults.clusterDataDir : stackDefaults.dataDir),
    ),
    queue,
    prefix,
    allowPrivate: args["allow-private"] === true,
    concurrency: optionalInt(args, "concurrency", 1, 10_000),
  };
}

/** COURIER_SHARDS when set (checked here, once, rather than by every worker in a loop), else 6. */
function clusterShards(env: Record<string, string | undefined>): number {
  const text = env.COURIER_SHARDS;
  if (!text) return stackDefaults.clusterShards;
  const problem = shardCountProblem(text);
  if (problem) throw new ConfigError(safeText(problem));
  return Number(text);
}

/** A checkout keeps its data beside the code; the compiled executable, where it is run. */
function defaultBase(cwd: string, compiled = isCompiled()): string {
  return compiled ? cwd : REPO_ROOT;
}

function optionalString(args: StackArgs, flag: string): string | undefined {
  const value = args[flag];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") {
    throw new ConfigError(`--${flag} needs one value`);
  }
  return value;
}

function optionalInt(args: StackArgs, flag: string, min: number, max: number): number | undefined {
  const text = optionalString(args, flag);
  if (text === undefined) return undefined;
  const value = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw new ConfigError(`--${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** Fails fast rather than let every worker crash-loop on it: bad usage, as for other commands. */
function checkRedisUrl(url: string, source: string): void {
  let scheme = "";
  try {
    scheme = new URL(url).protocol;
  } catch {
    // reported below
  }
  if (scheme !== "redis:" && scheme !== "rediss:") {
    throw new ConfigError(
      `invalid Redis URL "${maskUrl(url)}" in ${source}: ` +
        "expected redis://[user:password@]host:port",
    );
  }
}

/**
 * The dashboard the stack starts reads COURIER_DASHBOARD_PORT and _TOKEN itself and refuses bad
 * ones (exit 2); checked here first, so the stack says so once and does not start a dashboard
 * that exits, is restarted every 2 s, and exits again.
 */
function checkDashboardEnv(env: Record<string, string | undefined>): void {
  const port = env.COURIER_DASHBOARD_PORT;
  if (port && !(/^\d{1,5}$/.test(port) && Number(port) <= 65_535)) {
    throw new ConfigError(
      `COURIER_DASHBOARD_PORT must be a whole number from 0 to 65535, got "${safeText(port)}"`,
    );
  }
  checkDashboardToken(env.COURIER_DASHBOARD_TOKEN || undefined);
}
