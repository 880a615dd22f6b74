// Worker processes: spawned, told to go, read line by line, sampled (RSS, CPU) and stopped.
// "One worker process" in a figure is one of these, never a worker inside the bench itself.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Subprocess } from "bun";

export const BENCH_DIR = import.meta.dir;
export const ROOT = resolve(BENCH_DIR, "..");

/**
 * A child's environment entry for the Redis URL: REDIS_URL (`name`: the variable another tool
 * reads, e.g. rq's RQ_REDIS_URL). Never on a command line, where a password is anyone's to read
 * (`ps`, /proc/<pid>/cmdline); the environment is only the user's (/proc/<pid>/environ), as the
 * stack passes it to its children (lib/stack/_supervised.ts).
 */
export function urlEnv(url: string, name = "REDIS_URL"): Record<string, string> {
  return { [name]: url };
}

/** In a bench child: the Redis URL its parent gave in REDIS_URL (urlEnv), or exit 2 with `usage`. */
export function givenRedisUrl(usage: string): string {
  const url = process.env.REDIS_URL;
  if (url) return url;
  process.stderr.write(`REDIS_URL is not set (the Redis URL comes in the environment)\n${usage}\n`);
  process.exit(2);
}

/** Wall clock in milliseconds with sub-millisecond precision, comparable across processes. */
export const nowMs = () => performance.timeOrigin + performance.now();

export interface WorkerProc {
  readonly pid: number;
  /** Resolves once the process printed a line matching `match` (its ready line). */
  waitFor(match: RegExp, timeoutMs?: number): Promise<string>;
  /** Called with every line the process prints on stdout. */
  onLine(fn: (line: string) => void): void;
  send(line: string): void;
  /** Resident memory in bytes, from /proc/<pid>/status. */
  rssBytes(): number;
  /** CPU seconds used (user + system, all threads), from /proc/<pid>/stat. */
  cpuS(): number;
  /** Asks it to stop ("stop" on stdin), then kills it if it has not exited after `ms`. */
  stop(ms?: number): Promise<number>;
  exited: Promise<number>;
}

export function spawnProc(cmd: string[], env: Record<string, string> = {}): WorkerProc {
  const proc: Subprocess<"pipe", "pipe", "pipe"> = Bun.spawn({
    cmd,
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const listeners: ((line: string) => void)[] = [];
  const seen: string[] = [];
  let stderr = "";
  void pump(proc.stdout, (line) => {
    seen.push(line);
    if (seen.length > 50) seen.shift();
    for (const fn of listeners) fn(line);
  });
  void pump(proc.stderr, (line) => {
    stderr = `${stderr}${line}\n`.slice(-4_000);
    for (const fn of listeners) fn(line);
  });
  const describe = () => `${cmd.slice(0, 4).join(" ")}: ${stderr || seen.join("\n")}`;
  return {
    pid: proc.pid,
    exited: proc.exited,
    onLine: (fn) => listeners.push(fn),
    waitFor(match, timeoutMs = 30_000) {
      const hit = seen.find((l) => match.test(l));
      if (hit) return Promise.resolve(hit);
      return new Promise((ok, fail) => {
        const timer = setTimeout(
          () => fail(new Error(`no ${match} from ${describe()}`)),
          timeoutMs,
        );
        void proc.exited.then(() => fail(new Error(`exited early: ${describe()}`)));
        listeners.push((line) => {
          if (!match.test(line)) return;
          clearTimeout(timer);
          ok(line);
        });
      });
    },
    send(line) {
      proc.stdin.write(`${line}\n`);
      proc.stdin.flush();
    },
    rssBytes: () => rssBytes(proc.pid),
    cpuS: () => cpuSeconds(proc.pid),
    async stop(ms = 30_000) {
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          proc.stdin.write("stop\n");
          proc.stdin.end();
        } catch {
          // Already gone: its stdin is closed.
        }
      }
      const timer = setTimeout(() => proc.kill("SIGKILL"), ms);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

async function pump(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += decoder.decode(chunk, { stream: true });
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
    }
  }
  if (buf) onLine(buf);
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

/** utime + stime of the whole process (fields 14 and 15), in clock ticks of 1/100 s. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
