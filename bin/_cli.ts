// Shared by every command: runCli runs one (--help, argument checks, a closed pipe, errors
// mapped to exit codes), and every part a command imports is importable from here. A user
// mistake prints one line and a non-zero exit, never a stack trace. The parts: _exit.ts (exit
// codes, describeFailure), _args.ts (shared options and value checks), _subcommands.ts.
import { type ArgsDef, type CommandDef, renderUsage, runCommand } from "citty";
import { type ArgDefs, checkArgs } from "../lib/cli/args.ts";
import { failStdoutWrites, isClosedOutput, stdoutClosedAtStart } from "../lib/cli/closed-stdout.ts";
import { stopSelf } from "../lib/cli/stop-signals.ts";
import { urlSourceHint } from "../lib/cli/url-source.ts";
import { UnavailableError } from "../lib/errors.ts";
import { safeJson, safeText, shownInput } from "../lib/safe-text.ts";
import { describeFailure, EXIT, UsageError } from "./_exit.ts";
import { findSubCommand, resolveValue } from "./_subcommands.ts";

export {
  commonArgs,
  durabilityArg,
  durabilityArgs,
  intArg,
  intArgOrEnv,
  optionalValue,
  queueArgs,
  SECONDS,
  shardsArg,
  shardsArgs,
  waitSeconds,
} from "./_args.ts";
export { describeFailure, EXIT, UsageError } from "./_exit.ts";

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
    // Closed before we started (`>&-`): told as a closed pipe is, at the first write, by every
    // command whose output is its answer. It went to the runtime's stand-in /dev/null: `result`
    // exited 0 or 3 having shown nothing, `cancel` 0 without the ids it canceled.
    if (!LOGGERS.has(found.target) && stdoutClosedAtStart()) {
      closedAtStart = true;
      failStdoutWrites();
      // A command that only prints, and may wait long for its first line: said now.
      if (PRINTERS.has(found.target)) process.stdout.write("");
    }
    await runCommand(cmd, { rawArgs: found.ordered });
  } catch (err) {
    // A write that failed as standard output closed: the closed pipe's handler below says so
    // and exits 141; this one must not race it with an "unexpected error".
    if (stdoutClosed && !ownPipeHandling && isClosedOutput(err)) {
      // Sent SIGTERM there (it stops gracefully): the failed write ended it as the stop would
      // have, with its own code (process.exitCode; the output it could not write keeps the
      // process up). Left waiting for an exit nobody made, `queue events | head -1` never
      // ended, and spun a core.
      if (stoppedByClosedPipe) process.exit();
      return await new Promise(() => {});
    }
    const [code, described] = describeFailure(err);
    const message = described + urlSourceHint(err, rawArgs);
    // A bug's report keeps its stack whole; any other line is bounded, whatever it quotes.
    let text =
      code === EXIT.internal
        ? safeText(message, { multiline: true })
        : shownInput(message, ERROR_LINE_MAX);
    // Only for a mistake in the arguments: a port in use or a name taken is not fixed there.
    if (code === EXIT.usage && !(err instanceof UnavailableError)) {
      text += "\nRun with --help to see the options.";
    }
    await exitAfterError(code, `${text}\n`);
  }
}

/**
 * The longest error line shown: each command quotes what it was given in a few dozen
 * characters (shownInput), and this bounds a line whatever else it names (a URL, a path).
 */
export const ERROR_LINE_MAX = 2_000;

/**
 * Exits once stderr has taken `text`: process.exit() right after a write drops what a slow
 * pipe has not taken yet (64 KiB, the pipe's buffer, of a longer text).
 */
async function exitAfterError(code: number, text: string): Promise<never> {
  await new Promise<void>((resolve) => process.stderr.write(text, () => resolve()));
  process.exit(code);
}

let ownPipeHandling = false;
/** Standard output was found closed (quietOnClosedPipe). */
let stdoutClosed = false;
/** Closed before the command started (`>&-`): no reader that had seen enough, a mistake. */
let closedAtStart = false;
/** …and the command was sent SIGTERM for it, to stop as on Ctrl-C. */
let stoppedByClosedPipe = false;

/**
 * For a command that reports a closed standard output itself (`trigger` says how far it got):
 * the quiet exit below then leaves it alone.
 */
export function handleClosedPipeInCommand(): void {
  ownPipeHandling = true;
}

/** The long-running commands whose output is a log (runsWithStdoutClosed). */
const LOGGERS = new WeakSet<CommandDef>();

/**
 * A command whose standard output is its log (a worker, a scheduler, the dashboard, the
 * stack) runs on with it closed at start (`worker >&- &`), its lines going nowhere, as before:
 * the first would otherwise stop it at once.
 */
export function runsWithStdoutClosed<T extends ArgsDef>(cmd: CommandDef<T>): void {
  LOGGERS.add(cmd as CommandDef);
}

/** The commands that only print, and may wait long before their first line (waitsToPrint). */
const PRINTERS = new WeakSet<CommandDef>();

/**
 * A command whose only work is what it prints, and whose first line may be long in coming
 * (`queue events` waits for the next event): with standard output closed at start it stops at
 * once, as a closed output is told at a first write (exit 141), not at its first event.
 */
export function waitsToPrint<T extends ArgsDef>(cmd: CommandDef<T>): void {
  PRINTERS.add(cmd as CommandDef);
}

/**
 * Standard output closed while a command runs (`| head`), instead of dying on EPIPE with a stack
 * trace: a command that stops gracefully on SIGTERM (a worker drains its jobs, `info --watch`
 * ends its loop: the reader of a report that repeats wanted no more) is sent one and ends as it
 * would. Any other stops where it is, which may be part-way (`cancel -` of 20,000 ids had
 * canceled 1,000): it says so and exits 141, never 0, which would say it all went well.
 */
function quietOnClosedPipe(): void {
  // Standard error closed (`2>&1 >ids.txt | head -1`, head gone): nothing more can be said
  // there, and the exit code still says how the command ended. Unheard, the error made Bun end
  // the process with 1, a failed job's code, whatever the command's own (4, 2).
  process.stderr.on("error", (err: NodeJS.ErrnoException) => {
    if (!isClosedOutput(err)) throw err;
  });
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (!isClosedOutput(err)) throw err;
    if (stdoutClosed || ownPipeHandling) return;
    stdoutClosed = true;
    // Closed at start, a command that repeats (`info --watch >&-`) ended as on Ctrl-C, exit 0,
    // having shown nothing: said as any other command's, exit 141.
    if (!closedAtStart && process.listenerCount("SIGTERM") > 0) {
      stoppedByClosedPipe = true;
      stopSelf();
      return;
    }
    const [, line] = describeFailure(new UsageError("standard output closed; stopped there"));
    void exitAfterError(EXIT.closedOutput, `${line}\n`);
  });
}

/** citty colours its usage text: plain text into a pipe or a file, or when NO_COLOR is set. */
function plainUnlessTerminal(text: string): string {
  const colour = process.stdout.isTTY && !process.env.NO_COLOR;
  // citty pads each option's line to the longest one's width, hundreds of columns: a terminal
  // would wrap those spaces into empty rows between the options. Colour codes may follow them.
  const trimmed = text.replace(/[ \t]+((?:\x1b\[[0-9;]*m)*)$/gm, "$1");
  return colour ? trimmed : stripAnsi(trimmed);
}

function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** Writes one JSON document to stdout (no raw control character in it, even C1). */
export function printJson(value: unknown): void {
  process.stdout.write(`${safeJson(value)}\n`);
}
