// A standard output closed before the command started (`trigger … >&-`). Bun, as most runtimes,
// opens /dev/null on a closed descriptor 0-2 at start, so that no file it opens later takes its
// number: writes to it then succeed and go nowhere, and `trigger` would lose the ids it printed
// with exit 0. What tells it apart from `>/dev/null`: a descriptor inherited through exec never
// has close-on-exec set (it would not have been inherited), one the runtime opened does.

import { readFileSync } from "node:fs";

/** O_CLOEXEC in /proc/PID/fdinfo's `flags` (octal), which shows the close-on-exec bit. */
const O_CLOEXEC = 0o2000000;

/** True when fd 1 was closed at start (Linux, where /proc says; elsewhere false). */
export function stdoutClosedAtStart(fdinfo = "/proc/self/fdinfo/1"): boolean {
  let text: string;
  try {
    text = readFileSync(fdinfo, "utf8");
  } catch {
    return false; // no /proc: not known, taken as open
  }
  const flags = /^flags:\s*([0-7]+)$/m.exec(text)?.[1];
  return flags !== undefined && (Number.parseInt(flags, 8) & O_CLOEXEC) !== 0;
}

/**
 * Makes every write to stdout fail as a write to a closed descriptor does (EBADF, in its
 * callback and an `error` event), so the command handles it as it handles a closed pipe.
 */
export function failStdoutWrites(): void {
  const stdout = process.stdout;
  stdout.write = ((...args: unknown[]) => {
    const done = args.find((a) => typeof a === "function") as ((e: Error) => void) | undefined;
    const err = Object.assign(new Error("write EBADF"), { code: "EBADF", syscall: "write" });
    process.nextTick(() => {
      done?.(err);
      stdout.emit("error", err);
    });
    return false;
  }) as typeof stdout.write;
}

/** What a write to a closed standard output fails with: a pipe (EPIPE), a descriptor (EBADF). */
export function isClosedOutput(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "EPIPE" || code === "EBADF";
}
