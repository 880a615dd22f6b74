// Writing outcomes: finishes (and failures) that complete in the same tick are queued and
// written together in one script call (the calls: lib/worker/outcome-writes.ts). A
// write that fails (Redis down, or refusing it for lack of memory) is kept and tried again with
// back-off, never dropped: the entry stays pending, and leased, until its outcome is recorded.
// (On a full Redis the scripts still run: their first write takes no memory.) Below
// LANE_MIN_CONCURRENCY the finish also takes the next entries for the slots it frees
// (docs/internals.md, "2. Read"): one call per job.
import type { WorkerOptions } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";
import { exponentialMs } from "../time.ts";
import type { Startable } from "./entries.ts";
import { OutcomeWrites } from "./outcome-writes.ts";

export interface Finish {
  kind: "finish";
  entryId: string;
  jobId: string;
  job: Startable;
  /** How long the run took, on the worker's monotonic clock. */
  runMs: number;
  result: string;
  /** A slot was held for this finish to take the next entry (see OutcomeWrites.reserve). */
  reserved?: boolean;
  /** The finish also takes an entry to hold beyond the slots (lib/worker/prefetch.ts). */
  ahead?: boolean;
}

export interface Failure {
  kind: "fail";
  entryId: string;
  jobId: string;
  job: Startable;
  runMs: number;
  error: string;
  /** Try again after this many ms (from Redis' clock); null = fail for good now. */
  retryInMs: number | null;
  /** Written while Redis was full: a compact letter for which the oldest letter went. */
  compact?: boolean;
  /**
   * Redis was full when the attempt ended and the job's slot is held: the retry runs again at
   * once on this worker, in that slot, writing nothing that takes memory (fail.lua run_again).
   */
  rerun?: boolean;
}

export type Outcome = Finish | Failure;

export { BURIED, CORRUPT, NOT_MINE, RERUN, UNRECORDED, WRITTEN } from "./outcome-calls.ts";

/**
 * Script replies: finish 1 recorded / 0 the job had an outcome (the first is kept); fail 1
 * retry / RERUN at once here / 2 failed for good / 0 left alone (ended, or not its current run:
 * entry not acknowledged); CORRUPT, UNRECORDED, WRITTEN, BURIED or NOT_MINE for either (outcome-calls.ts).
 */
export type OnWritten = (outcome: Outcome, reply: number) => void;

const MAX_PER_CALL = 500;
/** Writes in flight at once: a batch goes out while the one before is still being answered. */
const MAX_IN_FLIGHT = 2;

export class Outcomes extends OutcomeWrites {
  #queue: Outcome[] = [];
  #scheduled = false;
  /** Outcomes in writes not answered yet, and those writes. */
  #inFlight = 0;
  #writes = 0;
  #retryMs = 0;
  /** Writes that failed in a row: the wait before the next doubles with each. */
  #failedWrites = 0;
  #idle: (() => void)[] = [];
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Called when a write lands after one failed (Redis is back, or has room again). */
  onRecovered: () => void = () => {};
  constructor(
    clients: () => readonly Redis[],
    keys: QueueKeys,
    o: WorkerOptions,
    onWritten: OnWritten,
    private readonly onError: (err: unknown, retryInMs: number) => void,
  ) {
    super(clients, keys, o, onWritten);
  }

  /** Outcomes not written yet (waiting, or in a write whose reply has not come). */
  get size(): number {
    return this.#queue.length + this.#inFlight;
  }

  /**
   * Queues an outcome for the next write. `alone`: no other job of this worker is running,
   * waiting to start or being read (Jobs.ended, lib/worker/attempt-ends.ts), so no other
   * outcome can join this one's call (concurrency 1, or one job at a time at low load): it goes
   * out once the current task ends, not on the event loop's next turn (a turn per job, and the
   * write delayed for nothing).
   */
  add(outcome: Outcome, alone = false): void {
    if (outcome.kind === "finish" && this.reserve) this.reserve(outcome);
    this.#queue.push(outcome);
    this.#schedule(0, alone);
  }

  /** Resolves once everything added so far has been written. */
  drained(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Stops writing (the worker is stopping). Returns how many outcomes were never written, or
   * whose write is still unanswered: their entries stay pending (unless the write lands), and
   * other workers claim those jobs after claimIdleMs.
   */
  close(): number {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const resolve of this.#idle.splice(0)) resolve();
    return this.#queue.splice(0).length + this.#inFlight;
  }

  /**
   * `now`: write after the current task (a microtask) rather than on the loop's next turn,
   * which lets outcomes of jobs ending in the same turn join one call (see add).
   */
  #schedule(delayMs: number, now = false): void {
    // A write in flight that ends schedules again: nothing waits for long.
    if (this.#scheduled || this.#closed || this.#writes >= MAX_IN_FLIGHT) return;
    this.#scheduled = true;
    const run = () => void this.#flush();
    if (delayMs > 0) this.#timer = setTimeout(run, delayMs);
    else if (now) queueMicrotask(run);
    else setImmediate(run);
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#queue.splice(0, MAX_PER_CALL);
    if (batch.length === 0) return;
    this.#writes++;
    this.#inFlight += batch.length;
    // The next batch may go out while this one is on its way.
    if (this.#queue.length > 0) this.#schedule(this.#retryMs);
    // One call per kind, side by side; a batch of one kind (the common case) is one call.
    const kinds = byKind(batch);
    const parts =
      kinds.length === 1
        ? [await this.isolate(batch)]
        : await Promise.all(kinds.map((items) => this.isolate(items)));
    this.#writes--;
    this.#inFlight -= batch.length;
    // Only what failed goes back: each script is idempotent per job (a job already ended, or a
    // failure of a run that is no longer current, is left alone), so writing it again after a
    // lost reply is safe.
    const again = parts.length === 1 ? parts[0]!.again : parts.flatMap((p) => p.again);
    if (again.length > 0) {
      this.#queue.unshift(...again);
      this.#retryMs = exponentialMs(100, this.#failedWrites++, this.o.reconnectMaxMs);
      this.onError(parts.find((p) => p.error !== undefined)?.error, this.#retryMs);
    } else if (this.#retryMs > 0) {
      this.#retryMs = 0;
      this.#failedWrites = 0;
      this.onRecovered();
    }
    if (this.#queue.length > 0) this.#schedule(this.#retryMs);
    else if (this.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }
}

/** The batch as one list per kind of outcome (the scripts differ): itself when of one kind. */
function byKind(batch: Outcome[]): Outcome[][] {
  const kind = batch[0]!.kind;
  if (batch.every((b) => b.kind === kind)) return [batch];
  return [batch.filter((b) => b.kind === "finish"), batch.filter((b) => b.kind === "fail")];
}
