// Argument checks citty does not make: an option it does not define (it would accept it
// silently), a string option given no value (it would use the default silently, so
// `--queue --json` ran on the default queue), or given twice (the last would win silently), and
// a word given to a command that takes none (`info q2-typo` listed every queue, `dead purge
// --all extra` purged). Unknown options get a "did you mean".

import { ConfigError } from "../errors.ts";
import { shownInput } from "../safe-text.ts";

/** What these checks need of citty's ArgsDef. */
export type ArgDefs = Record<string, { type?: string; alias?: string | string[] }>;

/**
 * Throws ConfigError (exit 2) for an unknown option, a string option with no value or twice, a
 * switch given a value (`--all=no`), or an argument that is no option to a command that declares
 * no positional one.
 */
export function checkArgs(rawArgs: readonly string[], defs: ArgDefs): void {
  const byName = optionNames(defs);
  const given = new Set<object>();
  const takesWords = Object.values(defs).some((def) => def.type === "positional");
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") {
      const after = rawArgs[i + 1];
      if (!takesWords && after !== undefined) throw new ConfigError(unexpected(after));
      break;
    }
    if (!isOption(arg)) {
      if (!takesWords) throw new ConfigError(unexpected(arg));
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const name = flag.replace(/^--?/, "");
    const def = byName.get(name) ?? byName.get(name.replace(/^no-/, ""));
    if (!def) throw new ConfigError(unknownOption(flag, [...byName.keys()]));
    // A switch takes no value: citty reads any `=value` but `false` as on, so `--all=no` purged
    // every letter and `--allow-private=0` turned the guard off (R-192).
    if (def.type === "boolean" && eq !== -1) {
      throw new ConfigError(`${flag} takes no value: give ${flag} alone, or leave it out`);
    }
    if (def.type !== "string") continue;
    // Every value option takes one value: a second one would silently win (citty keeps the last);
    // a REPEATABLE one is read whole by its command (repeatedValues).
    if (given.has(def) && !REPEATABLE.has(name))
      throw new ConfigError(`give ${flag} once${ONCE_HINTS.get(name) ?? ""}`);
    given.add(def);
    if (eq !== -1) {
      if (arg.slice(eq + 1) === "") throw new ConfigError(`${flag} needs a value`);
      continue;
    }
    const next = rawArgs[i + 1];
    if (next === undefined || next === "" || isOption(next)) {
      throw new ConfigError(`${flag} needs a value`);
    }
    i++; // the value, whatever it looks like, is not an option
  }
}

/** `unexpected argument "extra"`, up to 40 characters, escaped (it may be a pasted page). */
function unexpected(arg: string): string {
  return `unexpected argument "${shownInput(arg, 40)}": this command takes options only`;
}

/** Options that may be given several times (`worker --tasks a.ts --tasks b.ts`). */
const REPEATABLE = new Set(["tasks"]);

/**
 * Every value of a REPEATABLE option `--name`, in order (citty keeps only the last). Run after
 * checkArgs: each has a value, and no value looks like an option, so none is taken for one.
 */
export function repeatedValues(rawArgs: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") break;
    if (arg === `--${name}` && rawArgs[i + 1] !== undefined) values.push(rawArgs[++i]!);
    else if (arg.startsWith(`--${name}=`)) values.push(arg.slice(name.length + 3));
  }
  return values;
}

/** What to do instead of repeating an option, where there is something. */
const ONCE_HINTS = new Map([["url", "; for many URLs use --file PATH"]]);

/** `-x`, `--name`, `--name=v`; not `-` (stdin) and not a negative number. */
function isOption(arg: string): boolean {
  return arg.startsWith("-") && arg !== "-" && !/^-\d/.test(arg);
}

function optionNames(defs: ArgDefs): Map<string, { type?: string }> {
  const names = new Map<string, { type?: string }>([
    ["help", { type: "boolean" }],
    ["h", { type: "boolean" }],
  ]);
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional") continue;
    names.set(name, def);
    for (const a of [def.alias ?? []].flat()) names.set(a, def);
  }
  return names;
}

/** `unknown option --colour (did you mean --color?)`. */
function unknownOption(flag: string, known: readonly string[]): string {
  const guess = suggest(flag.replace(/^--?(no-)?/, ""), known);
  return `unknown option ${flag}${guess ? ` (did you mean --${guess}?)` : ""}`;
}

/**
 * The known name closest to `given`: one it starts (3 letters at least), or the nearest by
 * edit distance when that is small for the length (2 edits at most, 1 for short names).
 */
export function suggest(given: string, known: readonly string[]): string | undefined {
  const lower = given.toLowerCase();
  const long = known.filter((k) => k.length > 1);
  if (lower.length >= 3) {
    const started = long.find((k) => k.startsWith(lower));
    if (started) return started;
  }
  // Short names get one edit, longer ones two: beyond that a guess is more noise than help.
  let best: string | undefined;
  let bestDistance = (lower.length <= 4 ? 1 : 2) + 1;
  for (const k of long) {
    const d = editDistance(lower, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance: insertions, deletions and substitutions of one character. */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + cost));
    }
    row = next;
  }
  return row[b.length]!;
}
