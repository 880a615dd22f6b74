// Writing outcomes: finishes (and failures) that complete in the same tick are written together
// in one script call (lib/engine/finish.ts, fail.ts, through lib/worker/outcome-calls.ts). A
// write that fails (Redis down, or refusing it for lack of memory) is kept and tried again with
// back-off, never dropped: the entry stays pending, and leased, until its outcome is recorded.
// (On a full Redis the scripts still run: their first write takes no memory.) Below
// LANE_MIN_CONCURRENCY the finish also takes the next entries for the slots it frees
// (docs/internals.md, "2. Read"): one call per job.
import type { WorkerOptions } from "../config.ts";
import { finishRuns, type TakenEntry } from "../engine/finish.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";
import { writeReplicated } from "../redis/replicated.ts";
import { exponentialMs } from "../time.ts";
import type { Startable } from "./entries.ts";
import {
  CORRUPT,
  dropIfNoRecord,
  failBatch,
  handOverForClaim,
  refusedOverOneRecord,
  UNRECORDED,
  WRITTEN,
  writtenAnyway,
} from "./outcome-calls.ts";

export interface Finish {
  kind: "finish";
  entryId: string;
  jobId: string;
  job: Startable;
  /** How long the run took, on the worker's monotonic clock. */
  runMs: number;
  result: string;
  /** A slot was held for this finish to take the next entry (see Outcomes.reserve). */
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

export { CORRUPT, RERUN, UNRECORDED, WRITTEN } from "./outcome-calls.ts";

/**
 * Script replies: finish 1 recorded / 0 the job had an outcome (the first is kept); fail 1
 * retry / RERUN at once here / 2 failed for good / 0 left alone (ended, or not its current run:
 * entry not acknowledged); CORRUPT, UNRECORDED or WRITTEN for either.
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
   * Redis is full: a job that fails for good keeps only a compact dead letter (it has
   * everything a requeue needs), not also its failed outcome for failureTtlS, and the oldest
   * letter is dropped for it (lib/engine/lua/include/dead.lua): failing frees the ~95-byte
   * entry, so a queue where every job fails drains (README: "Redis memory").
   */
  compactFailures: () => boolean = () => false;
  /** Starts since the last count sent (the `started` counter, written with outcomes). */
  startedSince = 0;
  /**
   * Take mode (below LANE_MIN_CONCURRENCY): sets `reserved` when a slot is held for the finish
   * to fill with the next entry (none when stopping, Redis full), and `ahead` when it also
   * takes one to hold (lib/worker/prefetch.ts). Null: the lanes read alone.
   */
  reserve: ((finish: Finish) => void) | null = null;
  /**
   * A finish call that held `held` slots and asked `ahead` entries more came back with `taken`
   * entries (none when it failed: `lost` says its reply may have been lost with entries read
   * for us).
   */
  onTaken: (taken: TakenEntry[], held: number, lost: boolean, ahead: number) => void = () => {};
  /** A finish ended jobs that others wait for: their dependents are to be told (flows.ts). */
  onParentsEnded: () => void = () => {};
  /**
   * Durability "replicated": a batch of `count` outcomes was written, but no replica confirmed
   * it within replicaWaitMs. It stays written (its entries are acknowledged): a failover now
   * could lose it, and the jobs would then run again (at least once). Told, not retried.
   */
  onUnreplicated: (count: number) => void = () => {};

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
        ? [await this.#isolate(batch)]
        : await Promise.all(kinds.map((items) => this.#isolate(items)));
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

  /**
   * Writes items; returns those to write again (Redis away or busy, or a queue-wide key of the
   * wrong type: nothing was written, and the whole batch waits) and why. A call Redis refuses
   * for what is in it (a script error over one record) is halved until the one bad outcome is
   * isolated (2·log2(n) calls, not n) and the others are recorded; one refused on its own is
   * given up, never retried forever (lib/worker/job-log.ts logs it): see #giveUp.
   */
  async #isolate(items: Outcome[]): Promise<{ again: Outcome[]; error?: unknown }> {
    try {
      await this.#write(items);
      return { again: [] };
    } catch (error) {
      if (!refusedOverOneRecord(error)) return { again: items, error };
      if (items.length > 1) {
        const half = Math.ceil(items.length / 2);
        const halves = [items.slice(0, half), items.slice(half)];
        const parts = await Promise.all(halves.map((part) => this.#isolate(part)));
        return { again: parts.flatMap((p) => p.again), error: parts.find((p) => p.error)?.error };
      }
      return this.#giveUp(items[0]!).then(
        () => ({ again: [] }),
        (err: unknown) => ({ again: items, error: err }),
      );
    }
  }

  /**
   * An outcome whose call was refused on its own: see writtenAnyway, then dropIfNoRecord; an
   * entry kept for its record goes to a claim (handOverForClaim).
   */
  async #giveUp(item: Outcome): Promise<void> {
    const client = this.clients()[0]!;
    if (await writtenAnyway(client, this.keys, item.entryId, item.jobId)) {
      return this.onWritten(item, WRITTEN);
    }
    const dropped = await dropIfNoRecord(client, this.keys, item.entryId, item.jobId);
    if (!dropped) await handOverForClaim(client, this.keys, this.o.name, item.entryId);
    this.onWritten(item, dropped ? CORRUPT : UNRECORDED);
  }

  async #write(items: Outcome[]): Promise<void> {
    if (items.length === 0) return;
    const clients = this.clients();
    const client = clients[this.#batches++ % clients.length]!;
    const started = this.startedSince;
    this.startedSince = 0;
    const write = (c: Redis) =>
      items[0]!.kind === "finish"
        ? this.#finish(c, items as Finish[], started)
        : this.#fail(c, items as Failure[], started);
    try {
      const codes =
        this.o.durability === "replicated"
          ? await this.#replicated(client, items.length, write)
          : await write(client);
      for (let i = 0; i < items.length; i++) this.onWritten(items[i]!, codes[i]!);
    } catch (err) {
      this.startedSince += started; // sent with the next write
      throw err;
    }
  }

  /**
   * The call, then `WAIT 1` on the same connection to the shard's master (pipelined), before
   * the outcomes count as written: a worker goes no faster than its shard's replica.
   */
  async #replicated(
    client: Redis,
    count: number,
    write: (c: Redis) => Promise<number[]>,
  ): Promise<number[]> {
    const { o, keys } = this;
    const { value, replicas } = await writeReplicated(client, keys.stream, o.replicaWaitMs, write);
    if (replicas < 1) this.onUnreplicated(count);
    return value;
  }

  async #finish(client: Redis, items: Finish[], started: number): Promise<number[]> {
    const { o } = this;
    const w = {
      consumer: o.name,
      resultTtlS: o.resultTtlS,
      eventsMaxLen: o.eventsMaxLen,
      deadMaxLen: o.deadMaxLen,
      failureTtlS: o.failureTtlS,
      startedSince: started,
    };
    let held = 0;
    let ahead = 0;
    for (const f of items) {
      if (f.reserved) held++;
      if (f.ahead) ahead++;
    }
    // finishRuns: the outcomes as they are (o.name is w.consumer), no item made per job.
    const finish = finishRuns(client, this.keys, w, items, held + ahead);
    try {
      const { codes, taken, noted } = await finish;
      if (noted > 0) this.onParentsEnded();
      // The slots are handed back after onWritten: the taken entries fill them first.
      if (held + ahead > 0) queueMicrotask(() => this.onTaken(taken, held, false, ahead));
      for (const f of items) f.reserved = f.ahead = false;
      return codes;
    } catch (err) {
      if (held + ahead > 0) this.onTaken([], held, true, ahead);
      for (const f of items) f.reserved = f.ahead = false;
      throw err;
    }
  }

  #fail(client: Redis, items: Failure[], started: number): Promise<number[]> {
    const compact = this.compactFailures();
    for (const f of items) f.compact = compact;
    return failBatch(client, this.keys, this.o, items, { compact, started });
  }
}

/** The batch as one list per kind of outcome (the scripts differ): itself when of one kind. */
function byKind(batch: Outcome[]): Outcome[][] {
  const kind = batch[0]!.kind;
  if (batch.every((b) => b.kind === kind)) return [batch];
  return [batch.filter((b) => b.kind === "finish"), batch.filter((b) => b.kind === "fail")];
}
