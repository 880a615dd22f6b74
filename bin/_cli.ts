// Shared by every command: common options, argument checks, and the one place where errors
// become exit codes. A user mistake prints one line and a non-zero exit, never a stack trace.
import { type ArgsDef, type CommandDef, type Resolvable, renderUsage, runCommand } from "citty";
import { type ArgDefs, checkArgs } from "../lib/cli/args.ts";
import { describeRefusal } from "../lib/cli/refusal.ts";
import { safeJson, safeText } from "../lib/cli/safe-text.ts";
import { urlSourceHint } from "../lib/cli/url-source.ts";
import { DURABILITIES, type Durability, defaults } from "../lib/config.ts";
import { MAX_SHARDS, shardCountProblem } from "../lib/engine/keys.ts";
import {
  CourierError,
  causes,
  type ErrorCode,
  isOomError,
  UnavailableError,
} from "../lib/errors.ts";

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
  /** The job was canceled (`result`: it ended without running to its end). */
  canceled: 8,
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
    description: `Redis URL, redis:// or rediss:// (TLS; a private CA goes in env REDIS_TLS_CA), or redis+cluster://host:port[,host:port…] (rediss+cluster://) for a Redis Cluster; may hold user:password (env REDIS_URL; default ${defaults.redisUrl})`,
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
  };
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/**
 * Parses a whole number option, or exits with a one-line usage error. Plain decimal digits
 * only: Number() would also take `1e3`, `0x10` or `1_000`-like surprises and ` 12 `.
 */
export function intArg(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : Number.NaN;
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

/** A number of seconds as `--wait` takes it: decimal only (`1.5`), as intArg: not `1e3` or `0x10`. */
export const SECONDS = /^(\d+\.?\d*|\.\d+)$/;

/** Seconds to wait from a `--wait` value: Infinity for a bare flag. */
export function waitSeconds(value: unknown): number | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === "forever" || value === true || value === "") return Number.POSITIVE_INFINITY;
  const n = typeof value === "string" && SECONDS.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n < 0) {
    throw new UsageError(`--wait takes a number of seconds, got "${String(value)}"`);
  }
  return n;
}

/** Runs a command: `--help`, argument checks, and errors mapped to exit codes. */
export async function runCli<T extends ArgsDef>(
  cmd: CommandDef<T>,
  rawArgs = process.argv.slice(2),
): Promise<void> {
  quietOnClosedPipe();
  const help = rawArgs.includes("--help") || rawArgs.includes("-h");
  try {
    const found = await findSubCommand(cmd as CommandDef, rawArgs, help);
    if (help) {
      const usage = await renderUsage(found.target, found.parent);
      process.stdout.write(`${plainUnlessTerminal(usage)}\n`);
      process.exit(EXIT.ok);
    }
    checkArgs(found.own, (await resolveValue(found.target.args)) as ArgDefs);
    await runCommand(cmd, { rawArgs: found.ordered });
  } catch (err) {
    const [code, described] = describeFailure(err);
    const message = described + urlSourceHint(err, rawArgs);
    process.stderr.write(`${safeText(message, { multiline: code === EXIT.internal })}\n`);
    // Only for a mistake in the arguments: a port in use or a name taken is not fixed there.
    if (code === EXIT.usage && !(err instanceof UnavailableError)) {
      process.stderr.write("Run with --help to see the options.\n");
    }
    process.exit(code);
  }
}

interface Found {
  /** The command that runs: `cmd` itself, or the subcommand named (`dead list`). */
  target: CommandDef;
  parent: CommandDef | undefined;
  /** The arguments with the subcommands' names first, as citty wants them. */
  ordered: string[];
  /** The target's own arguments. */
  own: string[];
}

/**
 * A command with subcommands (`dead list`, `dead purge`): the subcommand is the first word that
 * is not an option or an option's value. Its name is moved first, so options given before it
 * (`dead --prefix p list`) still reach it: citty passes a subcommand only what follows its name.
 */
async function findSubCommand(cmd: CommandDef, rawArgs: string[], help: boolean): Promise<Found> {
  const subs = await resolveValue(cmd.subCommands);
  if (!subs || Object.keys(subs).length === 0) {
    return { target: cmd, parent: undefined, ordered: rawArgs, own: rawArgs };
  }
  const names = Object.keys(subs);
  const defs = await Promise.all(
    [cmd, ...Object.values(subs)].map(async (c) => resolveValue((await resolveValue(c)).args)),
  );
  const takesValue = (arg: string) =>
    !arg.includes("=") &&
    defs.some((d) => (d as ArgDefs | undefined)?.[arg.replace(/^--?/, "")]?.type === "string");
  let i = 0;
  for (; i < rawArgs.length && rawArgs[i]!.startsWith("-"); i++) {
    // Its value, unless none was given (checkArgs says so once the command is known).
    if (takesValue(rawArgs[i]!) && !rawArgs[i + 1]?.startsWith("-")) i++;
  }
  const name = rawArgs[i];
  if (name === undefined || name === "--") {
    if (help) return { target: cmd, parent: undefined, ordered: rawArgs, own: rawArgs };
    throw new UsageError(`give a command: ${names.join(", ")}`);
  }
  const sub = subs[name];
  if (!sub) throw new UsageError(`unknown command "${name}": use ${names.join(", ")}`);
  const rest = [...rawArgs.slice(0, i), ...rawArgs.slice(i + 1)];
  const inner = await findSubCommand(await resolveValue(sub), rest, help);
  const parent = inner.parent ? await namedUnder(inner.parent, cmd) : cmd;
  return { ...inner, parent, ordered: [name, ...inner.ordered] };
}

/**
 * The parent with its own parent's name before its name (`courier dead`): citty's usage line
 * names only the nearest parent, so `courier dead list --help` would read `USAGE dead list`.
 */
async function namedUnder(parent: CommandDef, outer: CommandDef): Promise<CommandDef> {
  const [meta, above] = await Promise.all([resolveValue(parent.meta), resolveValue(outer.meta)]);
  const name = [above?.name, meta?.name].filter(Boolean).join(" ");
  return { ...parent, meta: { ...meta, name } };
}

let ownPipeHandling = false;

/**
 * For a command that reports a closed standard output itself (`trigger` says how far it got):
 * the quiet exit below then leaves it alone.
 */
export function handleClosedPipeInCommand(): void {
  ownPipeHandling = true;
}

/**
 * `info --watch | head`: once the reader has gone, there is no one left to tell; stop quietly
 * (exit 0) instead of dying on EPIPE with a stack trace. A command that stops gracefully on
 * SIGTERM (a worker drains its jobs, `--watch` ends its loop) is sent one; others exit now.
 */
function quietOnClosedPipe(): void {
  let closed = false;
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    if (closed || ownPipeHandling) return;
    closed = true;
    if (process.listenerCount("SIGTERM") > 0) process.kill(process.pid, "SIGTERM");
    else process.exit(EXIT.ok);
  });
}

/** citty colours its usage text: plain text into a pipe or a file, or when NO_COLOR is set. */
function plainUnlessTerminal(text: string): string {
  const colour = process.stdout.isTTY && !process.env.NO_COLOR;
  return colour ? text : stripAnsi(text);
}

/** The colours citty puts around a name or a value in its errors (cyan on, default off). */
const CITTY_COLOURS = /\x1b\[(?:36|39)m/g;

function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

async function resolveValue<T>(value: Resolvable<T>): Promise<T> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

const CODE_EXITS: Partial<Record<ErrorCode, number>> = {
  ECONFIG: EXIT.usage,
  EINPUT: EXIT.usage,
  EINVALIDURL: EXIT.usage,
  ECONNECT: EXIT.connect,
  EREDIS: EXIT.connect,
  EFULL: EXIT.full,
  ENOTFOUND: EXIT.notFound,
  ETIMEOUT: EXIT.timeout,
};

export function describeFailure(err: unknown): [number, string] {
  const name = process.argv[1]?.split("/").pop()?.replace(/\.ts$/, "") ?? "courier";
  // citty's own argument errors (a missing required option) carry the code EARG.
  // Our own messages are shown as they are (a value given with an escape in it shows it, by
  // safeText); citty's are coloured by it, and only its colours are taken out.
  if (err instanceof UsageError) return [EXIT.usage, `${name}: ${err.message}`];
  if ((err as { code?: string })?.code === "EARG") {
    return [EXIT.usage, `${name}: ${(err as Error).message.replace(CITTY_COLOURS, "")}`];
  }
  const refused = describeRefusal(err);
  if (refused) return [EXIT.connect, `${name}: ${refused}`];
  if (err instanceof CourierError) {
    const code = CODE_EXITS[err.code];
    if (code !== undefined) return [code, `${name}: ${err.message}`];
  }
  if (causes(err).some(isOomError)) return [EXIT.full, `${name}: ${OUT_OF_MEMORY}`];
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return [EXIT.internal, `${name}: unexpected error (please report it): ${text}`];
}

const OUT_OF_MEMORY =
  'Redis is out of memory (maxmemory reached, policy noeviction): it refused this command and wrote nothing of it; free memory or raise maxmemory (see "Redis memory" in README.md), then run it again';

/** Writes one JSON document to stdout (no raw control character in it, even C1). */
export function printJson(value: unknown): void {
  process.stdout.write(`${safeJson(value)}\n`);
}
