// Measuring one version of the code while the working tree keeps changing: worker processes
// load lib/ when they start, so an edit in the middle of a run would mix versions (or make a
// waiter of the old version miss the events of the new one). `--commit REF` runs this bench/
// on a snapshot of REF (git archive, node_modules linked, bench/ replaced by the working tree's),
// so two commits are measured by the same bench, which reaches lib/ through its public API; a
// run on the working tree checks that lib/ and bin/ did not change under it.
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A digest of every file under lib/ and bin/: compared at the start and end of a run. */
export function codeFingerprint(root: string): string {
  const hasher = new Bun.CryptoHasher("sha1");
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else hasher.update(path).update(readFileSync(path));
    }
  };
  for (const dir of ["lib", "bin"]) walk(join(root, dir));
  return hasher.digest("hex").slice(0, 12);
}

export function git(root: string, args: string[]): string {
  const r = Bun.spawnSync({ cmd: ["git", ...args], cwd: root });
  return r.exitCode === 0 ? r.stdout.toString().trim() : "";
}

/**
 * A snapshot of `ref` in a temporary directory: its lib/ and bin/, this tree's bench/ (so the
 * same bench measures both), node_modules linked to the tree's own. `remove` deletes it.
 */
export function extractSnapshot(
  root: string,
  ref: string,
  flag = "--commit",
): { dir: string; commit: string; remove: () => void } {
  const commit = git(root, ["rev-parse", "--short", ref]);
  if (!commit) throw new Error(`${flag}: git does not know ${ref}`);
  const dir = mkdtempSync(join(tmpdir(), `courier-bench-${commit}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const archive = Bun.spawnSync({
      cmd: ["git", "archive", "-o", join(dir, ".tar"), commit],
      cwd: root,
    });
    const untar = Bun.spawnSync({ cmd: ["tar", "-xf", ".tar"], cwd: dir });
    if (archive.exitCode !== 0 || untar.exitCode !== 0) {
      throw new Error(`${flag}: could not extract ${commit}`);
    }
    rmSync(join(dir, ".tar"));
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
    // Past results stay behind: --out is absolute, so the run writes into this tree.
    rmSync(join(dir, "bench"), { recursive: true, force: true });
    cpSync(join(root, "bench"), join(dir, "bench"), {
      recursive: true,
      filter: (src) => src !== join(root, "bench", "results"),
    });
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, commit, remove };
}

/**
 * Runs this tree's `bun bench/run.ts <args>` in a snapshot of `ref` and returns its exit code.
 * The snapshot's node_modules is a link to the tree's own; it is deleted afterwards.
 */
export async function runOnSnapshot(root: string, ref: string, args: string[]): Promise<number> {
  const { dir, commit, remove } = extractSnapshot(root, ref);
  try {
    const dirty = git(root, ["status", "--porcelain", "bench"]) !== "";
    const bench = `${git(root, ["rev-parse", "--short", "HEAD"])}${dirty ? "+changes" : ""}`;
    const proc = Bun.spawn({
      cmd: [process.execPath, join(dir, "bench/run.ts"), ...args],
      cwd: dir,
      env: { ...process.env, COURIER_BENCH_COMMIT: commit, COURIER_BENCH_CODE: bench },
      stdio: ["inherit", "inherit", "inherit"],
    });
    return await proc.exited;
  } finally {
    remove();
  }
}
