// The calls that write one batch of outcomes (the base of Outcomes, lib/worker/outcomes.ts,
// which queues and batches them): one script call per kind (lib/engine/finish.ts, fail.ts,
// through lib/worker/outcome-calls.ts), with `WAIT 1` under durability "replicated". A call
// Redis refuses over one record is halved until that record is isolated, and the outcome given
// up; a finish below LANE_MIN_CONCURRENCY also takes the next entries for the slots it frees.
import type { WorkerOptions } from "../config.ts";
import { finishRuns, type TakenEntry } from "../engine/finish.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";
import { writeReplicated } from "../redis/replicated.ts";
import {
  buryIfNoRecord,
  failBatch,
  handOverForClaim,
  refusedOverOneRecord,
  UNRECORDED,
  WRITTEN,
  writtenAnyway,
} from "./outcome-calls.ts";
import type { Failure, Finish, OnWritten, Outcome } from "./outcomes.ts";

export abstract class OutcomeWrites {
  /** Batches written so far: batch n goes on connection n mod the number of connections. */
  #batches = 0;
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
    protected readonly clients: () => readonly Redis[],
    protected readonly keys: QueueKeys,
    protected readonly o: WorkerOptions,
    protected readonly onWritten: OnWritten,
  ) {}

  /**
   * Writes items; returns those to write again (Redis away or busy, or a queue-wide key of the
   * wrong type: nothing was written, and the whole batch waits) and why. A call Redis refuses
   * for what is in it (a script error over one record) is halved until the one bad outcome is
   * isolated (2·log2(n) calls, not n) and the others are recorded; one refused on its own is
   * given up, never retried forever (lib/worker/job-log.ts logs it): see #giveUp.
   */
  protected async isolate(items: Outcome[]): Promise<{ again: Outcome[]; error?: unknown }> {
    try {
      await this.#write(items);
      return { again: [] };
    } catch (error) {
      if (!refusedOverOneRecord(error)) return { again: items, error };
      if (items.length > 1) {
        const half = Math.ceil(items.length / 2);
        const halves = [items.slice(0, half), items.slice(half)];
        const parts = await Promise.all(halves.map((part) => this.isolate(part)));
        return { again: parts.flatMap((p) => p.again), error: parts.find((p) => p.error)?.error };
      }
      return this.#giveUp(items[0]!, error).then(
        () => ({ again: [] }),
        (err: unknown) => ({ again: items, error: err }),
      );
    }
  }

  /**
   * An outcome whose call was refused on its own: see writtenAnyway, then buryIfNoRecord; an
   * entry kept (for its record, or a burial refused too) goes to a claim (handOverForClaim).
   */
  async #giveUp(item: Outcome, refusal: unknown): Promise<void> {
    const client = this.clients()[0]!;
    if (await writtenAnyway(client, this.keys, item.entryId, item.jobId)) {
      return this.onWritten(item, WRITTEN);
    }
    const compact = this.compactFailures();
    const settled = await buryIfNoRecord(
      client,
      this.keys,
      this.o,
      { entryId: item.entryId, jobId: item.jobId, attempt: item.job.attempt, compact },
      refusal,
    );
    if (settled === null) await handOverForClaim(client, this.keys, this.o.name, item.entryId);
    this.onWritten(item, settled ?? UNRECORDED);
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
