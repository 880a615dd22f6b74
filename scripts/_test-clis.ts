// The CLIs the test passes of `bun run check` spawn: each `bin/<name>.ts` compiled once per run
// (`bun build --compile --bytecode`) into a temporary folder, which tests/helpers.ts' spawnCli
// runs in place of `bun bin/<name>.ts` when COURIER_TEST_CLI_DIR names it. A compiled CLI starts
// in about a fifth of the CPU time (no module graph to resolve, no node-redis to parse): most of
// the suite's time was spent starting CLIs. The code is the same sources, built as
// `bun run build` builds the shipped `courier`; `bun test` run by hand spawns the sources, and
// `stack` and `courier` always do (the stack finds its workers' bin/ files beside its own).
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

/** The bin/ commands that run from their sources even in `bun run check` (see above). */
const FROM_SOURCES = new Set(["stack", "courier"]);

export interface TestClis {
  dir: string;
  /** Resolves once every CLI is built; rejects with bun's output when one did not build. */
  ready: Promise<void>;
  /** Stops builds under way and removes the folder (synchronous: fit for an exit hook). */
  remove(): void;
}

/** The names of the commands compiled for the tests: `bin/<name>.ts`, not helpers (`_*.ts`). */
export function testCliNames(root: string): string[] {
  return readdirSync(join(root, "bin"))
    .filter((f) => f.endsWith(".ts") && !f.startsWith("_"))
    .map((f) => f.slice(0, -".ts".length))
    .filter((name) => !FROM_SOURCES.has(name))
    .sort();
}

/**
 * Starts compiling every test CLI into a new temporary folder, two at a time (about 0.7 s of CPU
 * and 110 MB each: about 1 GB in all). The folder exists on return, so that a caller can remove
 * it on any exit; a pair is awaited whole before a failure is reported, so no build is still
 * writing into a folder that was removed (`bun build` would make it again).
 */
export function buildTestClis(root: string): TestClis {
  const dir = mkdtempSync(join(tmpdir(), "courier-test-cli-"));
  const running = new Set<Subprocess>();
  const remove = () => {
    for (const proc of running) proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  const build = async (name: string) => {
    const proc = Bun.spawn({
      cmd: [
        process.execPath,
        "build",
        "--compile",
        "--bytecode",
        "--format=esm",
        join(root, "bin", `${name}.ts`),
        "--outfile",
        join(dir, name),
      ],
      cwd: root,
      stdout: "pipe",
      stderr: "pipe",
    });
    running.add(proc);
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    running.delete(proc);
    if (code !== 0)
      throw new Error(`bun build of bin/${name}.ts failed (exit ${code}):\n${out}${err}`);
  };
  const ready = (async () => {
    const names = testCliNames(root);
    for (let i = 0; i < names.length; i += 2) {
      const pair = await Promise.allSettled(names.slice(i, i + 2).map(build));
      const failure = pair.find((r) => r.status === "rejected");
      if (failure) {
        remove();
        throw failure.reason;
      }
    }
  })();
  return { dir, ready, remove };
}
