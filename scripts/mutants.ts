// Mutation run: `bun run mutants [--only ID[,ID…]] [--list]` (--list: the mutants, and exit 2
// when a search text is not found exactly once). Applies each mutant of
// scripts/mutants/list.ts (a small deliberate bug that breaks one guarantee of
// docs/internals.md) in a scratch copy of the repository, runs the test files that must catch
// it, puts the file back, and prints a table and the score. Exits non-zero when a mutant
// survives (unless marked equivalent, with its reason), or when a mutant's search text is not
// found exactly once (the code changed: rewrite the mutant for the new code).
//
// Why not StrykerJS: it cannot mutate Lua, where most of the guarantees live (the transition
// scripts); it would add a dependency tree for what fits in one file; and our tests need a
// real Redis per run (tests/preload.ts), while Stryker's test-runner plugins and its in-place
// sandbox assume tests it can call in process. Hand-written mutants also say which guarantee
// each one breaks, so a survivor names the missing test.

import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawn } from "bun";
import { type Mutant, mutants } from "./mutants/list.ts";

const ROOT = resolve(import.meta.dir, "..");
/** A mutant whose tests hang is stopped here, and counted as caught (its tests did not pass). */
const MUTANT_LIMIT_MS = 180_000;
/** Copied to the scratch tree: everything but these. */
const SKIP = new Set(["node_modules", ".git", ".data", "dist", "bench/results"]);

interface Outcome {
  mutant: Mutant;
  verdict: "killed" | "SURVIVED" | "equivalent" | "timed out (killed)";
  seconds: number;
}

/** Each mutant's search text must occur exactly once: returns one line per one that does not. */
function checkSearches(list: readonly Mutant[]): string[] {
  const problems: string[] = [];
  for (const m of list) {
    let text: string;
    try {
      text = readFileSync(join(ROOT, m.file), "utf8");
    } catch {
      problems.push(`mutant ${m.id}: file ${m.file} does not exist`);
      continue;
    }
    const n = text.split(m.search).length - 1;
    if (n !== 1) {
      const found = n === 0 ? "not found" : `found ${n} times`;
      problems.push(
        `mutant ${m.id}: search text ${found} in ${m.file}: ${JSON.stringify(m.search)}`,
      );
    }
    for (const t of m.tests) {
      try {
        readFileSync(join(ROOT, t));
      } catch {
        problems.push(`mutant ${m.id}: test file ${t} does not exist`);
      }
    }
  }
  return problems;
}

/** A copy of the working tree in a temporary folder, node_modules linked, never the tree itself. */
function scratchCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "courier-mutants-"));
  cpSync(ROOT, dir, {
    recursive: true,
    filter: (src) => !SKIP.has(src.slice(ROOT.length + 1)),
  });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/**
 * Runs test files in the scratch copy; ok when every test passed. `bail`: stop at the first
 * failure (one is enough to kill a mutant, and the rest may each wait out a timeout).
 */
async function runTests(
  dir: string,
  files: readonly string[],
  bail: boolean,
): Promise<{ ok: boolean; log: string; timedOut: boolean }> {
  const proc = spawn({
    cmd: [process.execPath, "test", ...files, "--timeout", "30000", ...(bail ? ["--bail"] : [])],
    cwd: dir,
    // The CLIs run from the mutated sources, never from `bun run check`'s compiled ones.
    env: { ...process.env, NO_COLOR: "1", COURIER_TEST_CLI_DIR: "" },
    stdout: "pipe",
    stderr: "pipe",
    // A process group of its own: a run that bails or is killed skips the tests' afterAll, and
    // what it started (the test redis-server, worker subprocesses) is ended with the group.
    detached: true,
  });
  const endGroup = () => {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      // the group is gone already
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    endGroup();
  }, MUTANT_LIMIT_MS);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  endGroup();
  return { ok: code === 0 && !timedOut, log: `${out}${err}`, timedOut };
}

async function runMutant(dir: string, m: Mutant): Promise<Outcome> {
  const path = join(dir, m.file);
  const original = readFileSync(path, "utf8");
  writeFileSync(
    path,
    original.replace(m.search, () => m.replace),
  );
  const started = performance.now();
  try {
    const r = await runTests(dir, m.tests, true);
    const seconds = (performance.now() - started) / 1000;
    let verdict: Outcome["verdict"] = r.timedOut ? "timed out (killed)" : "killed";
    if (r.ok) verdict = m.equivalent ? "equivalent" : "SURVIVED";
    return { mutant: m, verdict, seconds };
  } finally {
    writeFileSync(path, original);
  }
}

function printTable(outcomes: readonly Outcome[]): void {
  const rows = outcomes.map((o) => [
    o.mutant.id,
    o.verdict,
    `${o.seconds.toFixed(1)} s`,
    o.mutant.file,
    o.mutant.tests.map((t) => t.replace(/^tests\//, "")).join(" "),
  ]);
  const head = ["mutant", "verdict", "time", "file", "tests"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  console.log(line(head));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(r));
}

function parseArgs(argv: string[]): { only: Set<string> | null; list: boolean } {
  let only: Set<string> | null = null;
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--list") list = true;
    else if (a === "--only" || a.startsWith("--only=")) {
      const value = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (!value) throw new Error("--only needs a mutant id (see --list)");
      only = new Set(value.split(","));
    } else throw new Error(`unknown argument ${a} (use --only ID[,ID…] or --list)`);
  }
  return { only, list };
}

async function main(): Promise<number> {
  const { only, list } = parseArgs(process.argv.slice(2));
  const ids = new Set(mutants.map((m) => m.id));
  if (ids.size !== mutants.length) throw new Error("two mutants share an id");
  for (const id of only ?? []) if (!ids.has(id)) throw new Error(`no mutant ${id} (see --list)`);
  const chosen = mutants.filter((m) => !only || only.has(m.id));
  if (list) {
    for (const m of chosen) console.log(`${m.id.padEnd(30)} ${m.file.padEnd(24)} ${m.breaks}`);
  }
  // --list checks the search texts too: exit 0 says every chosen mutant still applies.
  const problems = checkSearches(chosen);
  if (problems.length > 0) {
    for (const p of problems) console.error(p);
    console.error(
      `${problems.length} mutant(s) no longer match the code: rewrite them in scripts/mutants/`,
    );
    return 2;
  }
  if (list) return 0;
  const dir = scratchCopy();
  try {
    return await runAll(dir, chosen);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The baseline, then each mutant in turn (one at a time: they share the scratch copy). */
async function runAll(dir: string, chosen: readonly Mutant[]): Promise<number> {
  // The unmutated tests must pass first, or every "kill" would mean nothing. Each file in a
  // process of its own, as the mutants run them (a few files each): one process for all of
  // them would also test how files disturb each other, which no mutant run does.
  const all = [...new Set(chosen.flatMap((m) => m.tests))].sort();
  console.log(`baseline: ${all.length} test files on the unmutated copy in ${dir}`);
  const failed: string[] = [];
  for (const file of all) {
    const base = await runTests(dir, [file], false);
    if (base.ok) continue;
    failed.push(file);
    console.error(base.log.split("\n").slice(-40).join("\n"));
  }
  if (failed.length > 0) {
    console.error(`baseline failed in ${failed.join(" ")}: fix the tests before reading mutants`);
    return 2;
  }
  const outcomes: Outcome[] = [];
  for (const [i, m] of chosen.entries()) {
    const o = await runMutant(dir, m);
    outcomes.push(o);
    console.log(`[${i + 1}/${chosen.length}] ${m.id}: ${o.verdict} (${o.seconds.toFixed(1)} s)`);
  }
  console.log("");
  printTable(outcomes);
  return report(outcomes);
}

function report(outcomes: readonly Outcome[]): number {
  const survivors = outcomes.filter((o) => o.verdict === "SURVIVED");
  const equivalent = outcomes.filter((o) => o.verdict === "equivalent");
  const scored = outcomes.length - equivalent.length;
  const killed = scored - survivors.length;
  console.log("");
  for (const o of equivalent) console.log(`equivalent: ${o.mutant.id}: ${o.mutant.equivalent}`);
  for (const o of survivors) {
    console.log(
      `SURVIVED: ${o.mutant.id} (${o.mutant.breaks}); tests run: ${o.mutant.tests.join(" ")}`,
    );
  }
  const pct = scored === 0 ? 100 : (100 * killed) / scored;
  console.log(
    `score: ${killed}/${scored} killed (${pct.toFixed(1)}%), ${equivalent.length} equivalent, ` +
      `${new Date().toISOString().slice(0, 10)}`,
  );
  return survivors.length > 0 ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(`mutants: ${(err as Error).message}`);
  process.exitCode = 2;
}
