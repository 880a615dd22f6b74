// Small helpers shared by the redis-server wrapper and the supervisor: reading a child's output
// line by line, and waiting for its exit with a bound.
import type { Subprocess } from "bun";

/** Calls `onLine` for each line of `stream` (without its `\n` or `\r\n`) until the stream ends. */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  try {
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      const lines = rest.split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) onLine(line.replace(/\r$/, ""));
    }
  } catch {
    // The pipe broke (the child was killed mid-write): what was read is all there is.
  }
  rest += decoder.decode();
  if (rest) onLine(rest);
}

/** True if the process has exited (by itself or by a signal). */
export function hasExited(proc: Subprocess): boolean {
  return proc.exitCode !== null || proc.signalCode !== null;
}

/** Resolves true once `proc` has exited, or false after `timeoutMs` if it is still running. */
export async function exitedWithin(proc: Subprocess, timeoutMs: number): Promise<boolean> {
  await settledWithin(proc.exited, timeoutMs);
  return hasExited(proc);
}

/** Resolves when `promise` settles or after `timeoutMs`, whichever comes first. */
export async function settledWithin(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    await Promise.race([promise.then(noop, noop), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function noop(): void {}

/** Sends `signal` unless the process is already gone (kill on a reaped pid would be a no-op). */
export function signal(proc: Subprocess, name: "SIGTERM" | "SIGKILL"): void {
  if (!hasExited(proc)) proc.kill(name);
}

/**
 * What to put before a detached child's command so it gets SIGTERM when we die, even by
 * SIGKILL: `setpriv --pdeathsig TERM --` (util-linux, on every Debian/Ubuntu) sets the
 * parent-death signal and execs the command, so the pid stays the child's own. A detached
 * child no longer hears the terminal's Ctrl-C, and without this it would outlive a killed
 * supervisor. Empty where setpriv is missing (macOS): there an orphan has to be stopped by hand.
 */
export function parentDeathPrefix(): string[] {
  const setpriv = process.platform === "linux" ? Bun.which("setpriv") : null;
  return setpriv ? [setpriv, "--pdeathsig", "TERM", "--"] : [];
}
