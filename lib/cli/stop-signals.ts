// The signals a long-running command (worker, scheduler, dashboard, `info --watch`, `queue
// events`, the stack) stops gracefully on: SIGINT (Ctrl-C), SIGTERM (a supervisor) and SIGHUP
// (its terminal closed: an ssh session dropped). Left to its default action, SIGHUP ended a
// worker at once (exit 129), its running jobs claimed by others only after their leases lapsed.
// A process started with SIGHUP ignored (`nohup`) keeps it ignored.

import { readFileSync } from "node:fs";
import { constants } from "node:os";

export type StopSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/**
 * Whether SIGHUP was ignored when the process started (`nohup courier worker &`): the SigIgn
 * mask of /proc/self/status (SIGHUP, signal 1, its lowest bit), read before any handler is
 * installed, since one replaces the ignore: the worker then stopped when the session it was
 * meant to outlive ended. Linux, where /proc says; elsewhere false.
 */
export function hangupIgnored(status = "/proc/self/status"): boolean {
  let text: string;
  try {
    text = readFileSync(status, "utf8");
  } catch {
    return false; // no /proc: not known, taken as not ignored
  }
  const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(text)?.[1];
  return mask !== undefined && (Number.parseInt(mask.slice(-1), 16) & 1) === 1;
}

/** Read once at load, before this module's handlers can replace an ignored SIGHUP. */
export const STOP_SIGNALS: readonly StopSignal[] = hangupIgnored()
  ? ["SIGINT", "SIGTERM"]
  : ["SIGINT", "SIGTERM", "SIGHUP"];

/** Copies of one keypress arrive within a few ms; a deliberate second press takes longer. */
export const REPEAT_WINDOW_MS = 1_000;

export type Verdict = "first" | "repeat" | "second" | "later";

/** Classifies signals by their arrival time in ms on a monotonic clock. Pure: table-tested. */
export class SignalCounter {
  #firstAtMs: number | undefined;
  #sawSecond = false;

  constructor(readonly windowMs = REPEAT_WINDOW_MS) {}

  /** "first"; "repeat" (a copy of the first, ignored); "second"; "later" (after the second). */
  classify(atMs: number): Verdict {
    if (this.#firstAtMs === undefined) {
      this.#firstAtMs = atMs;
      return "first";
    }
    if (this.#sawSecond) return "later";
    if (atMs - this.#firstAtMs < this.windowMs) return "repeat";
    this.#sawSecond = true;
    return "second";
  }
}

/**
 * Calls `handler` on each stop signal but the copies of the first: a hang-up reaches a
 * foreground process twice within milliseconds (from the kernel, and from the shell passing its
 * own on), Ctrl-C once from the terminal and again from `npm run`/`bun run`; counted as a second
 * signal, a copy gave up the drain at once (exit 130, a job left started). `once`: the first
 * only; a second (REPEAT_WINDOW_MS or more later) then exits at once, 128 + its number, as its
 * default action did. Returns the function that removes it.
 */
export function onStopSignals(
  handler: (signal: NodeJS.Signals) => void,
  options: { once?: boolean } = {},
): () => void {
  const counter = new SignalCounter();
  const listener = (signal: NodeJS.Signals) => {
    const verdict = counter.classify(performance.now());
    if (verdict === "repeat") {
      sentBySelf(signal); // a SIGTERM of stopSelf's taken here is answered
      return;
    }
    if (options.once && verdict !== "first") process.exit(signalStatus(signal));
    handler(signal);
  };
  for (const name of STOP_SIGNALS) process.on(name, listener);
  return () => {
    for (const name of STOP_SIGNALS) process.off(name, listener);
  };
}

/** As a shell reports a process the signal ended: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP. */
export function signalStatus(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 2);
}

/** SIGTERMs this process sent itself (stopSelf) and no handler has taken yet. */
let selfSent = 0;

/**
 * Stops the command as a SIGTERM does, told apart from one sent from outside: its output's
 * reader gone (`worker | tee log`, tee ended by the same Ctrl-C or hang-up), the worker's
 * "stopping" line met the closed pipe, and this SIGTERM counted as a second signal: exit 130
 * at once, its running jobs left to lapsed leases.
 */
export function stopSelf(): void {
  selfSent++;
  process.kill(process.pid, "SIGTERM");
}

/** Whether the SIGTERM being handled is one stopSelf sent (each is answered once). */
export function sentBySelf(signal: NodeJS.Signals): boolean {
  if (signal !== "SIGTERM" || selfSent === 0) return false;
  selfSent--;
  return true;
}
