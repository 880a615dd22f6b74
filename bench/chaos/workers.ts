// A pool of real worker processes (bin/worker.ts) that the chaos run kills with SIGKILL and
// replaces, sampling their memory as it goes.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { urlEnv } from "../_proc.ts";

const ROOT = resolve(import.meta.dir, "../..");

export interface PoolOptions {
  redisUrl: string;
  prefix: string;
  size: number;
  claimIdleMs: number;
  concurrency: number;
  /** Shards of the queue: a worker that starts first makes the queue so. */
  shards: number;
}

export class WorkerPool {
  peakRssBytes = 0;
  kills = 0;
  #procs: Subprocess[] = [];
  #started = 0;

  constructor(private readonly o: PoolOptions) {}

  /** The workers running now. */
  get pids(): number[] {
    return this.#procs.map((p) => p.pid);
  }

  fill(): void {
    while (this.#procs.length < this.o.size) this.#procs.push(this.#spawn());
  }

  /** SIGKILLs one worker at random and starts another in its place. */
  killOne(): void {
    const i = Math.floor(Math.random() * this.#procs.length);
    const victim = this.#procs[i];
    if (!victim) return;
    victim.kill("SIGKILL");
    this.kills++;
    this.#procs[i] = this.#spawn();
  }

  sampleRss(): void {
    for (const p of this.#procs) {
      try {
        const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, "utf8"))?.[1];
        if (kb) this.peakRssBytes = Math.max(this.peakRssBytes, Number(kb) * 1024);
      } catch {
        // exited between the listing and the read
      }
    }
  }

  /** Stops every worker gracefully (SIGTERM), killing any still up after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const procs = this.#procs.splice(0);
    for (const p of procs) p.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const p of procs) p.kill("SIGKILL");
    }, graceMs);
    await Promise.all(procs.map((p) => p.exited));
    clearTimeout(timer);
  }

  #spawn(): Subprocess {
    const o = this.o;
    const name = `chaos-${++this.#started}`;
    return Bun.spawn({
      cmd: [
        ...[process.execPath, resolve(ROOT, "bin/worker.ts")],
        ...["--prefix", o.prefix, "--name", name, "--allow-private", "--log-format", "json"],
        ...["--claim-idle-ms", String(o.claimIdleMs), "--concurrency", String(o.concurrency)],
        ...["--shards", String(o.shards)],
      ],
      cwd: ROOT,
      env: { ...process.env, ...urlEnv(o.redisUrl) },
      stdout: "ignore",
      stderr: "ignore",
    });
  }
}
