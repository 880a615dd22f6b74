#!/usr/bin/env bun
// Every command in one executable: `courier <command> [options]`, each command taking the
// options of its bin/ file (`courier trigger --url X` is `bun bin/trigger.ts --url X`).
// `bun run build` compiles this file into dist/courier; `courier stack` runs its workers and
// dashboard as `courier worker` and `courier dashboard`.
import type { CommandDef } from "citty";
import { optionalValue, runCli } from "./_cli.ts";
import { command as dashboard } from "./dashboard.ts";
import { command as dead } from "./dead.ts";
import { command as info } from "./info.ts";
import { command as result } from "./result.ts";
import { command as stack } from "./stack.ts";
import { command as trigger } from "./trigger.ts";
import { command as worker } from "./worker.ts";

// biome-ignore lint/suspicious/noExplicitAny: commands with different options side by side
const COMMANDS: Record<string, CommandDef<any>> = {
  trigger,
  result,
  worker,
  info,
  dead,
  dashboard,
  stack,
};

// These take `--wait` with an optional value, as their bin/ files arrange before parsing.
const OPTIONAL_WAIT = new Set(["trigger", "result"]);

/** The first sentence of each command's description, under a usage line. */
async function usage(): Promise<string> {
  const lines = ["Usage: courier <command> [options]", "", "Commands:"];
  for (const [name, cmd] of Object.entries(COMMANDS)) {
    const meta = await (typeof cmd.meta === "function" ? cmd.meta() : cmd.meta);
    const first = /^.*?(?=[.;](?:\s|$))/.exec(meta?.description ?? "")?.[0] ?? "";
    lines.push(`  ${name.padEnd(10)} ${first}`);
  }
  lines.push("", "Run courier <command> --help for the options of one.");
  return `${lines.join("\n")}\n`;
}

/** Runs the command named by the first argument; exits 2 when there is none or it is unknown. */
export async function runCourier(argv = process.argv.slice(2)): Promise<void> {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(await usage());
    return;
  }
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    const what = name === undefined ? "no command given" : `unknown command "${name}"`;
    process.stderr.write(`courier: ${what}\n${await usage()}`);
    process.exit(2);
  }
  await runCli(command, OPTIONAL_WAIT.has(name!) ? optionalValue(rest, "wait", "forever") : rest);
}

if (import.meta.main) await runCourier();
