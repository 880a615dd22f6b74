// Shared by every command: common options, argument checks, and the one place where errors
// become exit codes. A user mistake prints one line and a non-zero exit, never a stack trace.
import { type ArgsDef, type CommandDef, renderUsage, runCommand } from "citty";
import { defaults } from "../lib/config.ts";
import { CourierError, type ErrorCode } from "../lib/errors.ts";

/** Exit codes, the same for every command (documented in README.md). */
export const EXIT = {
  ok: 0,
  /** The job (or one of the jobs) failed. */
  failed: 1,
  /** Bad usage or input: an unknown option, a malformed value, an invalid URL. */
  usage: 2,
  /** The job exists but has not ended yet. */
  notFinished: 3,
  /** No job with that id (never enqueued, or its record expired). */
  notFound: 4,
  /** Gave up waiting (`--wait SECONDS`). */
  timeout: 5,
  /** Redis unreachable, refused us, or too old. */
  connect: 6,
  /** Redis is out of memory (maxmemory reached, policy noeviction): the write was refused. */
  full: 7,
  /** A bug or an unexpected failure; the message says what. */
  internal: 70,
} as const;

/** A mistake in how the command was called: exit code 2 and a hint to use --help. */
export class UsageError extends Error {
  override name = "UsageError";
}

export const commonArgs = {
  "redis-url": {
    type: "string",
    description: `Redis URL, redis:// or rediss:// (TLS), may hold user:password (env REDIS_URL; default ${defaults.redisUrl})`,
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

/** Queue options from the common arguments, then the environment, then the defaults. */
export function queueArgs(args: Record<string, unknown>) {
  return {
    redisUrl: str(args["redis-url"]) ?? process.env.REDIS_URL ?? defaults.redisUrl,
    queue: str(args.queue) ?? process.env.COURIER_QUEUE ?? defaults.queue,
    prefix: str(args.prefix) ?? process.env.COURIER_PREFIX ?? defaults.prefix,
  };
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Parses a whole number option, or exits with a one-line usage error. */
export function intArg(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return n;
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

/** Seconds to wait from a `--wait` value: Infinity for a bare flag. */
export function waitSeconds(value: unknown): number | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === "forever" || value === true || value === "") return Number.POSITIVE_INFINITY;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new UsageError(`--wait takes a number of seconds, got "${String(value)}"`);
  }
  return n;
}

/** Refuses options the command does not define (citty would silently accept them). */
function checkUnknown(rawArgs: string[], args: ArgsDef): void {
  const known = new Set<string>(["help", "h"]);
  for (const [name, def] of Object.entries(args)) {
    known.add(name);
    const alias = (def as { alias?: string | string[] }).alias;
    for (const a of [alias ?? []].flat()) known.add(a);
  }
  for (const arg of rawArgs) {
    if (arg === "--") break;
    const m = /^--?(?:no-)?([^=]+)/.exec(arg);
    if (!m || /^-\d/.test(arg) || arg === "-") continue;
    if (!known.has(m[1]!)) throw new UsageError(`unknown option ${arg.split("=")[0]}`);
  }
}

/** Runs a command: `--help`, argument checks, and errors mapped to exit codes. */
export async function runCli<T extends ArgsDef>(
  cmd: CommandDef<T>,
  rawArgs = process.argv.slice(2),
): Promise<void> {
  const args = (await cmd.args) as ArgsDef;
  if (rawArgs.includes("--help") || rawArgs.includes("-h")) {
    process.stdout.write(`${await renderUsage(cmd)}\n`);
    process.exit(EXIT.ok);
  }
  try {
    checkUnknown(rawArgs, args);
    await runCommand(cmd, { rawArgs });
  } catch (err) {
    const [code, message] = describeFailure(err);
    process.stderr.write(`${message}\n`);
    if (code === EXIT.usage) process.stderr.write("Run with --help to see the options.\n");
    process.exit(code);
  }
}

const CODE_EXITS: Partial<Record<ErrorCode, number>> = {
  ECONFIG: EXIT.usage,
  EINPUT: EXIT.usage,
  EINVALIDURL: EXIT.usage,
  ECONNECT: EXIT.connect,
  EFULL: EXIT.full,
  ENOTFOUND: EXIT.notFound,
  ETIMEOUT: EXIT.timeout,
};

function describeFailure(err: unknown): [number, string] {
  const name = process.argv[1]?.split("/").pop()?.replace(/\.ts$/, "") ?? "courier";
  // citty's own argument errors (a missing required option) carry the code EARG.
  if (err instanceof UsageError || (err as { code?: string })?.code === "EARG") {
    return [EXIT.usage, `${name}: ${(err as Error).message}`];
  }
  if (err instanceof CourierError) {
    const code = CODE_EXITS[err.code];
    if (code !== undefined) return [code, `${name}: ${err.message}`];
  }
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return [EXIT.internal, `${name}: unexpected error (please report it): ${text}`];
}

/** Writes one JSON document to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
