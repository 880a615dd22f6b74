// One redis-server per data folder: two servers appending to the same AOF files corrupt each
// other's data without a word, so each server we start writes its pid to `redis.pid` there
// (redis-server --pidfile) and a second start on that folder is refused while that pid lives.
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { UnavailableError } from "../errors.ts";

export const PIDFILE = "redis.pid";

/** `--pidfile <dataDir>/redis.pid`: Redis writes it at start and removes it on a clean exit. */
export function pidfileArgs(dataDir: string): string[] {
  return ["--pidfile", join(dataDir, PIDFILE)];
}

/**
 * Makes the data folder, before anything starts; a path that is a file, or a folder that
 * cannot be made (no permission, under a file), is bad usage: UnavailableError (exit 2, the
 * way out in its one line, as for a folder in use).
 */
export function ensureDataDir(dataDir: string): void {
  const refuse = (why: string, cause?: unknown) =>
    new UnavailableError(`cannot keep Redis' data in ${dataDir}: ${why}; give --data-dir DIR`, {
      cause,
    });
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    throw refuse("it is a file, not a folder");
  }
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw refuse((err as Error).message ?? String(err), err);
  }
}

/**
 * Throws UnavailableError (exit 2; the way out is in its message) when a live redis-server
 * already uses `dataDir`.
 */
export function refuseSharedDataDir(dataDir: string): void {
  const pid = dataDirHolder(dataDir);
  if (pid === null) return;
  throw new UnavailableError(
    `another Redis (pid ${pid}) uses ${dataDir}: stop that stack, or give --data-dir DIR`,
  );
}

/** The pid of the live redis-server whose pidfile is in `dataDir`, or null. */
export function dataDirHolder(dataDir: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(dataDir, PIDFILE), "utf8");
  } catch {
    return null; // none: never started here, or stopped cleanly
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  return holds(pid, dataDir) ? pid : null;
}

/**
 * Whether `pid` is a live redis-server in `dataDir`: Redis runs from its --dir, so on Linux its
 * working directory tells it from another process (or another Redis) that reused a stale pid.
 */
function holds(pid: number, dataDir: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive but another user's; only "no such process" means stale.
    if ((err as { code?: string }).code === "ESRCH") return false;
  }
  if (!existsSync("/proc/self/cwd")) return true; // no /proc (macOS): a live pid is taken at its word
  try {
    return realpathSync(`/proc/${pid}/cwd`) === realpathSync(dataDir);
  } catch (err) {
    // EACCES: another user's process, taken at its word; ENOENT: it has just exited.
    return (err as { code?: string }).code === "EACCES";
  }
}
