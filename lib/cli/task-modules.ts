// `worker --tasks FILE`: your own tasks in the CLI worker (README, "Your own tasks in the CLI
// worker"). A module's tasks are its default export (a task, an array of tasks, or an object
// whose values are tasks) and every named export that is a task; a task is an object with a
// string `name` and a function `run`. Other named exports (helpers, constants) are left alone.
// Paths are relative to the current directory; the compiled executable (`bun run build`) loads
// them too, by absolute path.
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { TASK_MODULE_SLOW_MS } from "../config.ts";
import { ConfigError, describeError } from "../errors.ts";
import { safeText } from "../safe-text.ts";
import type { Task } from "../types.ts";

// biome-ignore lint/suspicious/noExplicitAny: tasks of any payload type live side by side
type AnyTask = Task<any, any>;

/** Whether `v` has the shape of a task: a string `name` and a function `run`. */
export function isTask(v: unknown): v is AnyTask {
  if (typeof v !== "object" || v === null) return false;
  const t = v as Record<string, unknown>;
  try {
    return typeof t.name === "string" && t.name !== "" && typeof t.run === "function";
  } catch {
    return false; // a getter that throws, a Proxy: no task
  }
}

/** What a module slow to load is told by: after `afterMs`, `say` gets one line (stderr). */
export interface SlowLoad {
  afterMs: number;
  say: (line: string) => void;
}

const SLOW_LOAD: SlowLoad = {
  afterMs: TASK_MODULE_SLOW_MS,
  say: (line) => process.stderr.write(`${line}\n`),
};

/**
 * The tasks of the modules at `paths`, after `builtIn` (which they may not rename): one line
 * (ConfigError, exit 2) for a file missing, a module that does not load or exports no task, a
 * default export holding something else, and two tasks of one name. A module still loading
 * after `slow.afterMs` (a top-level `await` that has not settled) is said, and waited for.
 */
export async function loadTaskModules(
  paths: readonly string[],
  builtIn: readonly AnyTask[] = [],
  slow: SlowLoad = SLOW_LOAD,
): Promise<AnyTask[]> {
  const from = new Map<string, string>(builtIn.map((t) => [t.name, "the built-in tasks"]));
  const tasks = [...builtIn];
  for (const path of paths) {
    const shown = `--tasks ${safeText(path)}`;
    for (const task of await tasksOf(path, shown, slow)) {
      const other = from.get(task.name);
      if (other !== undefined) {
        throw new ConfigError(
          `${shown}: a task named ${JSON.stringify(task.name)} is already in ${other}`,
        );
      }
      from.set(task.name, safeText(path));
      tasks.push(task);
    }
  }
  return tasks;
}

/** One module's tasks, each once (a task exported both by default and by name counts once). */
async function tasksOf(path: string, shown: string, slow: SlowLoad): Promise<AnyTask[]> {
  const file = resolve(process.cwd(), path);
  const kind = fileKind(file);
  if (kind !== "file") {
    // A folder (`--tasks ./`, `--tasks src`) is there: saying "no such file" would send the
    // reader looking for a typo.
    throw new ConfigError(`${shown}: ${kind} (looked for ${safeText(file)})`);
  }
  let module: Record<string, unknown>;
  const seconds = slow.afterMs / 1_000;
  const line = `worker: ${shown} has not finished loading after ${seconds} s (a top-level await that does not settle?); still waiting`;
  const timer = setTimeout(() => slow.say(line), slow.afterMs);
  try {
    module = await import(pathToFileURL(file).href);
  } catch (err) {
    // describeError: a module may throw any value (one String() cannot print, R-192).
    const why = safeText(describeError(err).split("\n")[0] ?? "");
    throw new ConfigError(`${shown}: could not load it as a module: ${why}`);
  } finally {
    clearTimeout(timer);
  }
  try {
    return exportedTasks(module, shown);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // Exports that throw when read (a getter, a Proxy): one line, as a module that does not load.
    const why = safeText(describeError(err).split("\n")[0] ?? "");
    throw new ConfigError(`${shown}: could not read its exports: ${why}`);
  }
}

/** "file" for a regular file at `file`, else what to say of what is there (or is not). */
function fileKind(file: string): string {
  try {
    const info = statSync(file);
    if (info.isFile()) return "file";
    return info.isDirectory() ? "it is a directory, not a file" : "it is not a regular file";
  } catch {
    return "no such file"; // ENOENT, or ENOTDIR/EACCES on the way: nothing loadable there
  }
}

/** The tasks a loaded module exports (see tasksOf). */
function exportedTasks(module: Record<string, unknown>, shown: string): AnyTask[] {
  const found = new Set<AnyTask>();
  if ("default" in module) for (const t of defaultTasks(module.default, shown)) found.add(t);
  for (const [name, value] of Object.entries(module)) {
    if (name !== "default" && isTask(value)) found.add(value);
  }
  if (found.size === 0) {
    throw new ConfigError(
      `${shown}: exports no task (export a task { name, run }, or a default array or object of tasks)`,
    );
  }
  const byName = new Map<string, AnyTask>();
  for (const t of found) {
    if (byName.has(t.name)) {
      throw new ConfigError(`${shown}: exports two tasks named ${JSON.stringify(t.name)}`);
    }
    byName.set(t.name, t);
  }
  return [...found];
}

/** The tasks of a default export, which must be a task, or an array or object of tasks. */
function defaultTasks(value: unknown, shown: string): AnyTask[] {
  if (isTask(value)) return [value];
  const entries = Array.isArray(value)
    ? value.map((v, i) => [`[${i}]`, v] as const)
    : typeof value === "object" && value !== null
      ? Object.entries(value)
      : null;
  if (entries === null) {
    const kind = value === null ? "null" : typeof value;
    throw new ConfigError(
      `${shown}: its default export is not a task, nor an array or object of tasks (got ${kind})`,
    );
  }
  for (const [at, v] of entries) {
    if (!isTask(v)) {
      throw new ConfigError(
        `${shown}: default export ${safeText(at)} is not a task (an object with a name and a run function)`,
      );
    }
  }
  return entries.map(([, v]) => v as AnyTask);
}
