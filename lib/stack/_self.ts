// How the stack runs Courier's own commands (worker, dashboard) and names them to the user:
// `bun bin/worker.ts` from a checkout, `<this executable> worker` from the compiled `courier`,
// where the sources are not on disk and import.meta.dir is a virtual `/$bunfs/root`.
import { join, relative, resolve } from "node:path";

/** The repository root (this file is lib/stack/_self.ts); meaningless when compiled. */
export const REPO_ROOT = resolve(import.meta.dir, "../..");

export type OwnCommand = "worker" | "dashboard" | "trigger" | "result";

/** Set by bin/courier.ts: this process is `courier <command>`, which has every subcommand. */
let asCourier = false;

/** Told by bin/courier.ts that it runs the command: its own commands are subcommands of it. */
export function ranAsCourier(): void {
  asCourier = true;
}

/**
 * Whether the stack can run its own commands: from a checkout (bin/ files), or compiled as the
 * whole `courier` (subcommands). A `bun build --compile` of bin/stack.ts alone has neither.
 */
export function runsOwnCommands(compiled = isCompiled(), courier = asCourier): boolean {
  return !compiled || courier;
}

/** True inside an executable made by `bun build --compile` (dist/courier). */
export function isCompiled(main = Bun.main): boolean {
  return main.startsWith("/$bunfs/") || main.includes("~BUN");
}

/** The command line that runs `name`: the executable with its subcommand, or Bun and the file. */
export function ownCommand(name: OwnCommand, compiled = isCompiled()): string[] {
  return compiled ? [process.execPath, name] : [process.execPath, scriptOf(name)];
}

/** The file run from a checkout; checked before the stack starts anything. */
export function scriptOf(name: OwnCommand): string {
  return join(REPO_ROOT, "bin", `${name}.ts`);
}

/** How to type `name` in another terminal: `bun bin/trigger.ts`, or `./dist/courier trigger`. */
export function shownCommand(
  name: OwnCommand,
  compiled = isCompiled(),
  cwd = process.cwd(),
): string {
  if (!compiled) return `bun bin/${name}.ts`;
  const path = relative(cwd, process.execPath);
  const shown = path.startsWith("..") || path === "" ? process.execPath : `./${path}`;
  return `${shown} ${name}`;
}
