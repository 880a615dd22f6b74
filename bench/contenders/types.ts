// What a contender offers the workloads: a producer in the bench process, a Redis command that
// counts the results recorded so far, and the command line of one worker process.
import type { Contender } from "../_figures.ts";
import { urlEnv } from "../_proc.ts";

/** The task a worker runs: nothing at all, or the word count of a local page. */
export type TaskKind = "noop" | "wordcount";

/**
 * Everything a worker process needs: passed to it as JSON on its command line, but for `url`,
 * which goes in its environment (bunWorkerCommand; a password is not for `ps` to show).
 */
export interface WorkerSpec {
  url: string;
  queue: string;
  concurrency: number;
  task: TaskKind;
  /** Print `done <job id> <wall-clock ms>` when each result is recorded (latency workload). */
  notify: boolean;
  /** Courier's no-op task prints `start <wall-clock ms>` as it starts (limits workload). */
  stamp?: boolean;
}

export interface Producer {
  /** Enqueues one job and resolves with its id once the enqueue is acknowledged. */
  enqueueOne(payload: unknown): Promise<string>;
  /** Enqueues many jobs through the library's bulk path. */
  enqueueBulk(payloads: readonly unknown[]): Promise<void>;
  /** Blocks until the job has a result, through the library's own wait. */
  waitFor?(id: string): Promise<void>;
  close(): Promise<void>;
}

export interface WorkerCommand {
  /** Never the Redis URL: it goes in `env`. */
  cmd: string[];
  /** Added to the process' environment: the Redis URL (bench/_proc.ts urlEnv). */
  env: Record<string, string>;
  /** The line the process prints once it can be told to go (or, for RQ, once it listens). */
  ready: RegExp;
  /** Whether it waits for "go" on stdin before it connects and starts working. */
  needsGo: boolean;
}

export interface ContenderImpl {
  name: Contender;
  /** A command whose integer reply is the number of results recorded in `queue`. */
  finishedCommand(queue: string): string[];
  producer(url: string, queue: string, task: TaskKind): Promise<Producer>;
  workerCommand(spec: WorkerSpec): WorkerCommand;
  /** Why this contender cannot run on this machine (it is then skipped, saying so), if it cannot. */
  missing?(): string | undefined;
}

/** What a worker process runs (bench/worker-proc.ts) for the Bun contenders. */
export interface RunningWorker {
  stop(): Promise<void>;
}
export type StartWorker = (
  spec: WorkerSpec,
  onDone: ((jobId: string) => void) | undefined,
) => Promise<RunningWorker>;

/**
 * The command line of a Bun worker process (`script`: bench/worker-proc.ts, this tree's or a
 * snapshot's) for a contender: the spec on it, its URL in REDIS_URL.
 */
export function bunWorkerCommand(
  name: Contender,
  spec: WorkerSpec,
  script = new URL("../worker-proc.ts", import.meta.url).pathname,
): WorkerCommand {
  const { url, ...rest } = spec;
  return {
    cmd: [process.execPath, script, name, JSON.stringify(rest)],
    env: urlEnv(url),
    ready: /^ready$/,
    needsGo: true,
  };
}
