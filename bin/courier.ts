#!/usr/bin/env bun
// Every command in one executable: `courier <command> [options]`, each command taking the
// options of its bin/ file (`courier trigger --url X` is `bun bin/trigger.ts --url X`).
// `bun run build` compiles this file into dist/courier; `courier stack` runs its workers and
// dashboard as `courier worker` and `courier dashboard`.
import { type CommandDef, defineCommand } from "citty";
import { shownInput } from "../lib/safe-text.ts";
import { ranAsCourier } from "../lib/stack/_self.ts";
import pkg from "../package.json" with { type: "json" };
import { EXIT, optionalValue, runCli } from "./_cli.ts";
import { command as cancel } from "./cancel.ts";
import { command as dashboard } from "./dashboard.ts";
import { command as dead } from "./dead.ts";
import { command as info } from "./info.ts";
import { command as queue } from "./queue.ts";
import { command as result } from "./result.ts";
import { command as schedule } from "./schedule.ts";
import { command as stack } from "./stack.ts";
import { command as trigger } from "./trigger.ts";
import { command as worker } from "./worker.ts";

// Written for the list, not cut from each --help: a first sentence can run long or stop inside
// a bracket. COMMANDS is keyed by these names, so a command without a summary fails tsc.
const SUMMARIES = {
  trigger: "Enqueue jobs of any task (--task) or word counts (--url, --file); print their ids",
  result: "Print a job's status and, once it has finished, its result",
  cancel: "Cancel jobs: queued ones never run, running ones are aborted",
  worker: "Process jobs until stopped (Ctrl-C finishes the jobs in flight first)",
  info: "Show Redis' memory, each queue's counts and throughput, and its workers",
  dead: "List, show, requeue, delete or purge jobs that failed for good",
  queue: "Pause, resume, limit or empty a queue; list its jobs by state; follow its events",
  schedule: "Recurring jobs: add, list, pause, resume or remove schedules; run a scheduler",
  dashboard: "Serve the web dashboard, its JSON API and Prometheus metrics",
  stack: "Run Redis, workers and the dashboard in the foreground, for local use",
};

// biome-ignore lint/suspicious/noExplicitAny: commands with different options side by side
const COMMANDS: Record<keyof typeof SUMMARIES, CommandDef<any>> = {
  trigger,
  result,
  cancel,
  worker,
  info,
  dead,
  queue,
  schedule,
  dashboard,
  stack,
};

/** The commands' names, in the order `courier --help` lists them (`bun run build` names them). */
export const COMMAND_NAMES = Object.keys(SUMMARIES) as (keyof typeof SUMMARIES)[];

/** Own names only: `courier constructor` is an unknown command, not Object's. */
function isCommand(name: string | undefined): name is keyof typeof COMMANDS {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

// These take `--wait` with an optional value, as their bin/ files arrange before parsing.
const OPTIONAL_WAIT = new Set(["trigger", "result"]);

/** One line per command under a usage line. */
function usage(): string {
  const lines = [`Usage: courier <command> [options]   (courier ${pkg.version})`, "", "Commands:"];
  for (const [name, summary] of Object.entries(SUMMARIES)) {
    lines.push(`  ${name.padEnd(10)} ${summary}`);
  }
  lines.push("", "Run courier <command> --help for the options of one; courier --version.");
  return `${lines.join("\n")}\n`;
}

/** Runs the command named by the first argument; exits 2 when there is none or it is unknown. */
export async function runCourier(argv = process.argv.slice(2)): Promise<void> {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return;
  }
  if (name === "--version" || name === "-v") {
    process.stdout.write(`${pkg.version}\n`);
    return;
  }
  if (!isCommand(name)) {
    const what = name === undefined ? "no command given" : `unknown command "${shownInput(name)}"`;
    process.stderr.write(`courier: ${what}\n${usage()}`);
    process.exit(EXIT.usage);
  }
  ranAsCourier(); // `courier stack` runs its workers as `courier worker`
  const args = OPTIONAL_WAIT.has(name) ? optionalValue(rest, "wait", "forever") : rest;
  // Run as a subcommand of "courier", so its --help reads `courier trigger`, not `trigger`.
  const subCommands = { [name]: COMMANDS[name] };
  await runCli(defineCommand({ meta: { name: "courier" }, subCommands }), [name, ...args]);
}

if (import.meta.main) await runCourier();
