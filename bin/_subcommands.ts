// Finding the subcommand a command line names (`dead list`, `courier dead --prefix p list`),
// wherever its options stand, and naming it in full for its --help (`USAGE courier dead list`).
import type { CommandDef, Resolvable } from "citty";
import type { ArgDefs } from "../lib/cli/args.ts";
import { UsageError } from "./_exit.ts";

export interface Found {
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
export async function findSubCommand(
  cmd: CommandDef,
  rawArgs: string[],
  help: boolean,
): Promise<Found> {
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

export async function resolveValue<T>(value: Resolvable<T>): Promise<T> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}
