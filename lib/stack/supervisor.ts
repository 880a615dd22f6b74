// Runs named child processes like honcho: their output prefixed with their name, restarted after
// a pause when they exit on their own (the seed's `while true; do rq worker; sleep 2; done`),
// and stopped politely (SIGTERM, a grace period, then SIGKILL).
import type { Subprocess } from "bun";
import type { Output } from "./_output.ts";
import {
  exitedWithin,
  hasExited,
  parentDeathPrefix,
  readLines,
  settledWithin,
  signal,
} from "./_process.ts";

export interface ProcessSpec {
  /** Shown before each line it prints, e.g. `worker.1`. Unique within a supervisor. */
  name: string;
  /** Executable and arguments. */
  cmd: string[];
  /** Environment (default: ours). */
  env?: Record<string, string | undefined>;
  /** Working directory (default: ours). */
  cwd?: string;
  /** Restart this many ms after it exits on its own; undefined: never restart. */
  restartDelayMs?: number;
  /**
   * Exit codes that say a restart would fail the same way (2: bad usage, a queue it may not
   * serve): such an exit is not restarted, and resolves the supervisor's `gaveUp`.
   */
  finalCodes?: readonly number[];
}

/** A process that exited with one of its `finalCodes`. */
export interface GaveUp {
  name: string;
  code: number;
}

export interface SupervisorOptions {
  /** Where prefixed lines go. The supervisor's own lines are written under `system`. */
  output: Output;
  /**
   * Start children in their own session, so a terminal's Ctrl-C reaches only us and we decide
   * the stop order (default true). They then get SIGTERM when we die (parentDeathPrefix).
   */
  detached?: boolean;
}

interface Child {
  spec: ProcessSpec;
  proc: Subprocess<"ignore", "pipe", "pipe"> | undefined;
  /** Both output pipes read to their end. */
  drained: Promise<unknown>;
  restartTimer: ReturnType<typeof setTimeout> | undefined;
}

export class Supervisor {
  readonly #output: Output;
  readonly #detached: boolean;
  readonly #children = new Map<string, Child>();
  #stopping = false;
  readonly #gaveUp = Promise.withResolvers<GaveUp>();

  constructor(options: SupervisorOptions) {
    this.#output = options.output;
    this.#detached = options.detached ?? true;
  }

  /** Starts a process now and keeps it running until stop() or kill(). */
  start(spec: ProcessSpec): void {
    if (this.#children.has(spec.name)) throw new Error(`process ${spec.name} is already running`);
    const child: Child = {
      spec,
      proc: undefined,
      drained: Promise.resolve(),
      restartTimer: undefined,
    };
    this.#children.set(spec.name, child);
    this.#spawn(child);
  }

  /** Resolves when a process exits with one of its `finalCodes` (the first such). */
  get gaveUp(): Promise<GaveUp> {
    return this.#gaveUp.promise;
  }

  /** Pids of the processes running now. */
  pids(): number[] {
    const procs = [...this.#children.values()].map((c) => c.proc);
    return procs.flatMap((proc) => (proc && !hasExited(proc) ? [proc.pid] : []));
  }

  /**
   * SIGTERM to every process, SIGKILL to those still running after `graceMs`; resolves once all
   * have exited and their last lines are printed. No restarts from here on.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    const children = [...this.#children.values()];
    for (const child of children) clearTimeout(child.restartTimer);
    const running = children.filter((c) => c.proc && !hasExited(c.proc));
    for (const child of running) signal(child.proc!, "SIGTERM");
    await Promise.all(running.map((child) => this.#reap(child, graceMs)));
  }

  /** SIGKILL to every process at once (the second Ctrl-C). */
  kill(): void {
    this.#stopping = true;
    for (const child of this.#children.values()) {
      clearTimeout(child.restartTimer);
      if (child.proc) signal(child.proc, "SIGKILL");
    }
  }

  async #reap(child: Child, graceMs: number): Promise<void> {
    const proc = child.proc!;
    if (!(await exitedWithin(proc, graceMs))) {
      this.#system(`${child.spec.name} still running after ${graceMs / 1000} s: SIGKILL`);
      signal(proc, "SIGKILL");
      await proc.exited;
    }
    // A grandchild holding the pipe open must not hold up the stop.
    await settledWithin(child.drained, 1_000);
    this.#system(`${child.spec.name} stopped (${describeExit(proc)})`);
  }

  #spawn(child: Child): void {
    const { spec } = child;
    let proc: Subprocess<"ignore", "pipe", "pipe">;
    try {
      proc = Bun.spawn({
        cmd: this.#detached ? [...parentDeathPrefix(), ...spec.cmd] : spec.cmd,
        env: spec.env,
        cwd: spec.cwd,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        detached: this.#detached,
      });
    } catch (err) {
      child.proc = undefined;
      this.#scheduleRestart(child, `could not start: ${(err as Error).message}`);
      return;
    }
    child.proc = proc;
    const print = (line: string) => this.#output.line(spec.name, line);
    child.drained = Promise.all([readLines(proc.stdout, print), readLines(proc.stderr, print)]);
    this.#system(`${spec.name} started (pid ${proc.pid})`);
    void proc.exited.then((code) => this.#onExit(child, proc, code));
  }

  async #onExit(child: Child, proc: Subprocess, code: number): Promise<void> {
    if (this.#stopping || child.proc !== proc) return;
    await settledWithin(child.drained, 1_000); // its last lines first, then ours
    if (!proc.signalCode && child.spec.finalCodes?.includes(code)) {
      this.#system(`${child.spec.name} exited (code ${code}): not restarted, it would fail again`);
      this.#gaveUp.resolve({ name: child.spec.name, code });
      return;
    }
    this.#scheduleRestart(child, `exited (${describeExit(proc, code)})`);
  }

  #scheduleRestart(child: Child, what: string): void {
    const delayMs = child.spec.restartDelayMs;
    if (delayMs === undefined || this.#stopping) {
      this.#system(`${child.spec.name} ${what}`);
      return;
    }
    this.#system(`${child.spec.name} ${what}; restarting in ${delayMs / 1000} s`);
    child.restartTimer = setTimeout(() => {
      if (!this.#stopping) this.#spawn(child);
    }, delayMs);
  }

  #system(text: string): void {
    this.#output.line("system", text);
  }
}

function describeExit(proc: Subprocess, code = proc.exitCode): string {
  return proc.signalCode ? `killed by ${proc.signalCode}` : `code ${code}`;
}
