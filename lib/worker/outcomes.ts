// Writing outcomes: finishes (and failures) that complete in the same tick are written together
// in one script call. A write that fails (Redis down, or refusing it for lack of memory) is
// kept and tried again with back-off, never dropped: the entry stays pending, and leased,
// until its outcome is recorded. (On a full Redis the scripts still run: their first write
// takes no memory; see lib/engine/lua/include/memory.lua.)
import { ErrorReply } from "redis";
import type { WorkerOptions } from "../config.ts";
import { failJobs, finishJobs } from "../engine/calls/outcomes.ts";
import { GROUP, type QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";
import { exponentialMs } from "../time.ts";

export interface Finish {
  kind: "finish";
  entryId: string;
  /** The run this outcome ends, in the job's history. */
  runNo: number;
  jobId: string;
  result: string;
}

export interface Failure {
  kind: "fail";
  entryId: string;
  runNo: number;
  jobId: string;
  error: string;
  /**
   * Run again this many ms after the failure is recorded (the script adds it to Redis' clock,
   * not this host's); -1 = fail for good now.
   */
  retryInMs: number;
}

export type Outcome = Finish | Failure;

/**
 * The reply for a job key that is not a hash (finish-5.lua, fail-6.lua), or an outcome no
 * script call could record whose job has no record to lose (see #giveUp): its entry is
 * acknowledged, nothing recorded.
 */
export const CORRUPT = -2;

/**
 * An outcome no script call could record although its job record is a hash: its entry is left
 * pending, not acknowledged (that would lose the job), and claimed after claimIdleMs, when the
 * start script runs the job again or sets it aside.
 */
export const UNRECORDED = -3;

/**
 * Script replies: finish 1 recorded / 0 already ended / -1 gone; fail 1 retry / 2 dead /
 * 0 left alone (ended, or not its current run: entry not acknowledged); CORRUPT or UNRECORDED
 * for either.
 */
export type OnWritten = (outcome: Outcome, reply: number) => void;

const MAX_PER_CALL = 500;
/** Writes in flight at once: a batch goes out while the one before is still being answered. */
const MAX_IN_FLIGHT = 2;

export class Outcomes {
  #queue: Outcome[] = [];
  #scheduled = false;
  /** Outcomes in writes not answered yet, and those writes. */
  #inFlight = 0;
  #writes = 0;
  /** Batches written so far: batch n goes on connection n mod the number of connections. */
  #batches = 0;
  #retryMs = 0;
  /** Writes that failed in a row: the wait before the next doubles with each. */
  #failedWrites = 0;
  #idle: (() => void)[] = [];
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Called when a write lands after one failed (Redis is back, or has room again). */
  onRecovered: () => void = () => {};
  /**
   * Redis is full: a job that fails for good keeps only its dead letter (it has everything a
   * requeue needs), not also its record for failureTtlS. The failure then frees memory rather
   * than taking it, so a queue where every job fails still drains (README: "Redis memory").
   */
  compactFailures: () => boolean = () => false;

  constructor(
    /**
     * The connections to write on, in turn (the read loops' connections: lib/worker/links.ts);
     * read at each write, since the worker replaces a stalled one.
     */
    private readonly clients: () => readonly Redis[],
    private readonly keys: QueueKeys,
    private readonly o: WorkerOptions,
    private readonly onWritten: OnWritten,
    private readonly onError: (err: unknown, retryInMs: number) => void,
  ) {}

  /** Outcomes not written yet (waiting, or in a write whose reply has not come). */
  get size(): number {
    return this.#queue.length + this.#inFlight;
  }

  add(outcome: Outcome): void {
    this.#queue.push(outcome);
    this.#schedule(0);
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

  #schedule(delayMs: number): void {
    // A write in flight that ends schedules again: nothing waits for long.
    if (this.#scheduled || this.#closed || this.#writes >= MAX_IN_FLIGHT) return;
    this.#scheduled = true;
    const run = () => void this.#flush();
    if (delayMs > 0) this.#timer = setTimeout(run, delayMs);
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
    const finishes = batch.filter((b): b is Finish => b.kind === "finish");
    const failures = batch.filter((b): b is Failure => b.kind === "fail");
    const [f, x] = await Promise.all([this.#isolate(finishes), this.#isolate(failures)]);
    this.#writes--;
    this.#inFlight -= batch.length;
    // Only what failed goes back: each script is idempotent per job (a job already ended, or a
    // failure of a run that is no longer current, is left alone), so writing it again after a
    // lost reply is safe.
    const again = [...f.again, ...x.again];
    if (again.length > 0) {
      this.#queue.unshift(...again);
      this.#retryMs = exponentialMs(100, this.#failedWrites++, this.o.reconnectMaxMs);
      this.onError(f.error ?? x.error, this.#retryMs);
    } else if (this.#retryMs > 0) {
      this.#retryMs = 0;
      this.#failedWrites = 0;
      this.onRecovered();
    }
    if (this.#queue.length > 0) this.#schedule(this.#retryMs);
    else if (this.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /**
   * Writes items; returns those to write again (Redis away or busy, or a queue-wide key of the
   * wrong type: nothing was written, and the whole batch waits) and why. A call Redis refuses
   * for what is in it (a script error over one record) is split, so the one bad outcome is
   * isolated and the others are recorded; one refused on its own is given up, never retried
   * forever (lib/worker/running.ts logs it): see #giveUp.
   */
  async #isolate(items: Outcome[]): Promise<{ again: Outcome[]; error?: unknown }> {
    try {
      await this.#write(items);
      return { again: [] };
    } catch (error) {
      if (!refusedOverOneRecord(error)) return { again: items, error };
      if (items.length > 1) {
        const parts = await Promise.all(items.map((item) => this.#isolate([item])));
        return { again: parts.flatMap((p) => p.again), error: parts.find((p) => p.error)?.error };
      }
      return this.#giveUp(items[0]!).then(
        () => ({ again: [] }),
        (err: unknown) => ({ again: items, error: err }),
      );
    }
  }

  /** An outcome no script could record: see dropIfNoRecord. */
  async #giveUp(item: Outcome): Promise<void> {
    const dropped = await dropIfNoRecord(this.clients()[0]!, this.keys, item.entryId, item.jobId);
    this.onWritten(item, dropped ? CORRUPT : UNRECORDED);
  }

  async #write(items: Outcome[]): Promise<void> {
    if (items.length === 0) return;
    const { keys, o } = this;
    const clients = this.clients();
    const client = clients[this.#batches++ % clients.length]!;
    const { eventsMaxLen, deadMaxLen } = o;
    let reply: number[];
    if (items[0]!.kind === "finish") {
      const resultTtlS = o.resultTtlS;
      reply = await finishJobs(client, keys, { resultTtlS, eventsMaxLen }, items as Finish[]);
    } else {
      const failureTtlS = this.compactFailures() ? 0 : o.failureTtlS;
      const f = { failureTtlS, deadMaxLen, eventsMaxLen };
      reply = await failJobs(client, keys, f, items as Failure[]);
    }
    for (const [i, item] of items.entries()) this.onWritten(item, Number(reply[i]));
  }
}

/**
 * An error reply over one record (a script error, a wrong type under a job key) rather than
 * Redis' state (out of memory, loading, read-only, no permission) or a queue-wide key of the
 * wrong type (wrong_type in lib/engine/lua/include/wrongtype.lua: nothing was written, and no one job is at
 * fault): the call is worth splitting, so only the bad record is set aside.
 */
export function refusedOverOneRecord(err: unknown): boolean {
  if (!(err instanceof ErrorReply)) return false;
  return /^(ERR|WRONGTYPE)\b/.test(err.message) && !/^ERR courier: key /.test(err.message);
}

/**
 * Removes an entry no script could handle, when its job has no record to lose (the key is not
 * a hash, or gone, or the entry names no job): acknowledged and removed; returns true. An entry
 * whose job has a record stays pending (acknowledging it would lose the job), to be claimed
 * after claimIdleMs; returns false.
 */
export async function dropIfNoRecord(
  client: Redis,
  keys: QueueKeys,
  entryId: string,
  jobId: string,
): Promise<boolean> {
  const type = jobId ? await client.sendCommand<string>(["TYPE", keys.job(jobId)]) : "none";
  if (String(type) === "hash") return false;
  await Promise.all([
    client.sendCommand(["XACK", keys.stream, GROUP, entryId]),
    client.sendCommand(["XDEL", keys.stream, entryId]),
  ]);
  return true;
}
