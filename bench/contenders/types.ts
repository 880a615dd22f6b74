// What a contender offers the workloads: a producer in the bench process, a Redis command that
// counts the results recorded so far, and the command line of one worker process.
import type { Contender } from "../_figures.ts";

/** The task a worker runs: nothing at all, or the word count of a local page. */
export type TaskKind = "noop" | "wordcount";

/** Everything a worker process needs; passed to it as JSON on its command line. */
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
  cmd: string[];
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

/** The command line of a Bun worker process (bench/worker-proc.ts) for a contender. */
export function bunWorkerCommand(name: Contender, spec: WorkerSpec): WorkerCommand {
  const script = new URL("../worker-proc.ts", import.meta.url).pathname;
  return {
    cmd: [process.execPath, script, name, JSON.stringify(spec)],
    ready: /^ready$/,
    needsGo: true,
  };
}
