// Rate limits in a worker's shard (docs/internals.md, "Rate limits"): the gate between a read
// and a start. A job asks the limiter only when a limit may apply to it (QueueLimits.applies,
// lib/worker/queue-limits.ts): the queue has a rate, or the job has a limit key and the queue
// has a key limit or a hold was made lately (what the worker polls with the pause,
// lib/worker/pause.ts), so a queue without limits, and jobs without a key, cost nothing new.
//
// For what a read brought, one limit.lua call per batch says per job: start at its slot (a
// timer: the job waits counted as running and leased, and starts no earlier than its slot and
// no later than the slot's lateness bound, else it gives the slot back), give the slot away
// (hold.lua: back in the delayed set, spending no attempt; other keys keep running), or ask
// again later (the queue's next slot is past the horizon: the job stays here, leased).
import type { WorkerOptions } from "../config.ts";
import { holdEntries } from "../engine/hold.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { type LimitEnded, type LimitVerdict, reserveSlots, runToken } from "../engine/limit.ts";
import { type Logger, throttled } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import type { Startable } from "./entries.ts";
import { runningSlotMs, type Slot, slotAction } from "./limit-slot.ts";
import type { QueueLimits } from "./queue-limits.ts";
import type { Jobs } from "./running.ts";

/**
 * How far ahead slots are reserved (ms): a batch read is served at the rate with one call, and a
 * worker that dies with reservations wastes at most this much of the rate. A job of a key whose
 * next slot is further gives its slot away instead of waiting here.
 */
export const LIMIT_HORIZON_MS = 1_000;
/** Jobs kept to ask again (LimitGate.#later) before it is first swept of those gone. */
const SWEEP_MIN = 64;

/** What a shard's gate needs of its worker. */
export interface GateDeps {
  keys: QueueKeys;
  o: WorkerOptions;
  log: Logger;
  /** The attempt's time limit of a task (its own, else the worker's). */
  limitMsOf: (task: string) => number;
  client: () => Redis;
  /** The worker is stopping: nothing starts any more (the stop releases the entries). */
  stopping: () => boolean;
  /** The queue is paused: a job whose slot comes gives it back unstarted (to the stream). */
  paused: () => boolean;
  /**
   * Every slot of the worker runs a task: a job whose limiter slot comes then gives it back
   * unstarted. Jobs waiting here count against the slots, so it only happens to an entry that
   * came in beyond them (a read that raced a key hold, one held for a slot): never more than
   * `concurrency` at once, whatever path a job starts by.
   */
  full: () => boolean;
  /**
   * A hold's reply was lost: read this worker's own pending entries again (without an attempt
   * counted), which finds those the hold did not take (lib/worker/claims.ts readLost).
   */
  readLost: () => void;
}

/** A shard's side of the limiter: asks for slots, then starts, holds or keeps each job. */
export class LimitGate {
  /** Jobs started with a running slot of their key, by entry id. */
  #slotted = new Map<string, LimitEnded>();
  #late: (fields: Record<string, unknown>) => void;
  /** Jobs asking again in this tick, by how they were delivered (see #again). */
  #asking: Record<"read" | "claim", Startable[]> = { read: [], claim: [] };
  #unreachableLog: (fields: Record<string, unknown>) => void;
  /** Entries in a limiter call or a hold call now (read again meanwhile: left alone). */
  #busy = new Set<string>();
  /**
   * Jobs kept here to ask again later (`L`, or the limiter unreachable), by entry id: a later
   * computed by the old rate may be a minute away, so a change of settings asks them now.
   */
  #later = new Map<string, { job: Startable; kind: "read" | "claim" }>();
  /** The size of #later at which it is next swept (#keep). */
  #sweepAt = SWEEP_MIN;

  constructor(
    private readonly q: QueueLimits,
    private readonly jobs: Jobs,
    private readonly d: GateDeps,
  ) {
    this.#late = throttled(d.log, "rate-limited start late: slot given back, job read again");
    this.#unreachableLog = throttled(d.log, "rate limiter unreachable: jobs kept, asking again");
    jobs.onEnded = (job) => {
      const slot = this.#slotted.get(job.entryId);
      if (!slot) return;
      this.#slotted.delete(job.entryId);
      this.q.ended(slot);
    };
    q.onChanged(() => this.#askAgainNow());
  }

  /**
   * Keeps `job` to ask again at a change of settings. A job that leaves without asking again
   * (canceled, its lease lost, the worker stopping) is not told here: the map is swept of those
   * once it has doubled since the last sweep, so it holds about the jobs still waiting (each
   * with its payload: 256 KB jobs canceled by the hundred grew the heap by 100 MB, RR1).
   */
  #keep(job: Startable, kind: "read" | "claim"): void {
    this.#later.set(job.entryId, { job, kind });
    if (this.#later.size < this.#sweepAt) return;
    for (const entryId of this.#later.keys()) {
      if (!this.jobs.waits.has(entryId)) this.#later.delete(entryId);
    }
    this.#sweepAt = Math.max(SWEEP_MIN, 2 * this.#later.size);
  }

  /** How many jobs are kept to ask again at a change of settings (tests: the sweep). */
  get kept(): number {
    return this.#later.size;
  }

  /** The settings changed: every job kept to ask again later asks now (one call). */
  #askAgainNow(): void {
    for (const [entryId, { job, kind }] of this.#later) {
      // Still waiting here to ask (not dropped by a stop or a lost lease meanwhile).
      if (this.jobs.waits.has(entryId)) this.#again(job, kind);
    }
    this.#later.clear();
  }

  /**
   * The jobs of `run` no limit applies to (the read loop starts them); the others start here at
   * their slot (waiting meanwhile in Jobs.waits), or were given back. No call, and not even a
   * promise, when no limit applies to any of them.
   */
  gate(run: Startable[], kind: "read" | "claim"): Startable[] | Promise<Startable[]> {
    // The common path: no limit applies, nothing is asked, not even a promise made.
    if (!run.some((j) => this.q.applies(j))) return run;
    return this.#gate(run, kind);
  }

  async #gate(run: Startable[], kind: "read" | "claim"): Promise<Startable[]> {
    const now: Startable[] = [];
    const asking: Startable[] = [];
    for (const j of run) {
      // Read again (own pending entries after a lost read or a reconnect) while it runs, waits
      // for its slot, is being written, or is being asked about or given away: never asked
      // again (a hold would re-queue a running job; a second slot would be freed by its end).
      if (this.jobs.has(j.entryId) || this.#busy.has(j.entryId)) continue;
      (this.q.applies(j) ? asking : now).push(j);
    }
    if (asking.length === 0) return now;
    try {
      await this.#decide(asking, kind);
      return now;
    } catch (err) {
      // Redis away or refusing: the jobs stay here, leased, and ask again shortly.
      this.#unreachable(err, asking.length);
      for (const j of asking) {
        this.jobs.waits.defer(j, LIMIT_HORIZON_MS, () => this.#again(j, kind));
        this.#keep(j, kind);
      }
      return now;
    }
  }

  /** Asks for slots for `jobs`, then starts each at its slot (here), holds or keeps it. */
  async #decide(jobs: Startable[], kind: "read" | "claim"): Promise<void> {
    const sent = performance.now();
    for (const j of jobs) this.#busy.add(j.entryId);
    const verdicts = await reserveSlots(
      this.d.client(),
      this.q.lk,
      { horizonMs: LIMIT_HORIZON_MS, shard: this.d.keys.shard },
      jobs.map((j) => ({
        jobId: j.jobId,
        run: runToken(this.d.keys.shard, j.entryId, j.deliveries),
        slotMs: runningSlotMs(this.d.limitMsOf(j.task), LIMIT_HORIZON_MS),
        ...(j.limitKey !== undefined && { limitKey: j.limitKey }),
      })),
    ).finally(() => {
      for (const j of jobs) this.#busy.delete(j.entryId);
    });
    const received = performance.now();
    const held: { job: Startable; dueMs: number; why: string }[] = [];
    for (const [i, job] of jobs.entries()) {
      const v = verdicts[i] as LimitVerdict;
      this.#later.delete(job.entryId);
      if (v.kind === "hold") {
        if (v.problem !== undefined) this.q.corrupt(v.problem);
        held.push({ job, dueMs: v.dueMs, why: v.why });
      } else if (v.kind === "later") {
        this.jobs.waits.defer(job, v.inMs, () => this.#again(job, kind));
        this.#keep(job, kind);
      } else {
        if (v.slot && job.limitKey !== undefined) {
          const run = runToken(this.d.keys.shard, job.entryId, job.deliveries);
          this.#slotted.set(job.entryId, { jobId: job.jobId, limitKey: job.limitKey, run });
        }
        // Never before its slot (Redis ran the script by `received`), never past its bound
        // (it may have run as early as `sent`; `in` is Redis' µs clock in ms to 3 decimals).
        const slot: Slot = {
          earliest: received + v.inMs,
          latest: v.lateMs === null ? Number.POSITIVE_INFINITY : sent + v.inMs + v.lateMs - 0.002,
          rtt: received - sent,
        };
        this.#due(job, kind, slot);
      }
    }
    // Not awaited: the starts above must not wait for this call's round trip.
    if (held.length > 0) void this.#hold(held);
  }

  /**
   * A job's slot time came (or is now): start it, checked right before it starts, or wait on
   * (a timer may fire early: it never starts before its slot), or give the slot back when it
   * is too late. It is started here, not by the read loop: no await between check and start.
   */
  #due(job: Startable, kind: "read" | "claim", slot: Slot): void {
    if (this.d.stopping()) {
      this.jobs.onEnded(job); // not started: its running slot frees; its entry is released
      return;
    }
    const now = performance.now();
    const action = slotAction(slot, now);
    if (typeof action === "number") {
      this.jobs.waits.defer(job, action, () => this.#due(job, kind, slot));
      return;
    }
    const full = action === "start" && this.d.full();
    if (action === "start" && !this.d.paused() && !full) {
      this.jobs.launch(job, kind, now); // the start the limit bounds is this check's moment
      return;
    }
    if (full) {
      this.d.log.log("info", "job held: every slot is busy; given back unstarted", {
        job: job.jobId,
      });
    } else if (action === "start") {
      this.d.log.log("info", "job held: the queue is paused; given back unstarted", {
        job: job.jobId,
      });
    } else {
      // A round trip to Redis longer than the bound makes every start late: said in the line.
      const lateMs = Math.round(now - slot.latest);
      this.#late({ job: job.jobId, lateMs, roundTripMs: Math.round(slot.rtt) });
    }
    this.jobs.onEnded(job); // frees its running slot, if it had one
    this.jobs.onFreed(); // its worker slot too (it no longer waits)
    void this.#hold([{ job, dueMs: 0, why: "late" }]);
  }

  /**
   * The queue's next slot was past the horizon (or the limiter was unreachable): ask again, in
   * one call for every job whose timer fired in the same tick (they share the same wait). The
   * job stays here meanwhile, counted as running and leased, and asks again if the call fails.
   */
  #again(job: Startable, kind: "read" | "claim"): void {
    this.#later.delete(job.entryId);
    this.jobs.waits.defer(job, LIMIT_HORIZON_MS, () => this.#again(job, kind));
    const asking = this.#asking[kind];
    asking.push(job);
    if (asking.length > 1) return;
    queueMicrotask(() => {
      const jobs = asking.splice(0);
      this.#decide(jobs, kind).catch((err) => this.#unreachable(err, jobs.length));
    });
  }

  #unreachable(err: unknown, jobs: number): void {
    this.#unreachableLog({ error: describeCause(err), jobs });
  }

  /**
   * Gives slots away: the jobs wait in the delayed set (or go back to the stream: due 0),
   * spending no attempt. A failed call keeps them here, and they ask again.
   */
  async #hold(held: { job: Startable; dueMs: number; why: string }[]) {
    const entries = held.map((h) => ({ entryId: h.job.entryId, dueMs: h.dueMs }));
    for (const h of held) {
      this.jobs.waits.undefer(h.job.entryId);
      this.#busy.add(h.job.entryId);
    }
    try {
      const verdicts = await holdEntries(
        this.d.client(),
        this.d.keys,
        this.d.o.name,
        entries,
      ).finally(() => {
        for (const h of held) this.#busy.delete(h.job.entryId);
      });
      for (const [i, h] of held.entries()) {
        const fields = { job: h.job.jobId, key: h.job.limitKey ?? null, why: h.why };
        // A waiter that ended must not keep its place (it would swallow a wake). One `gone`
        // (claimed away) keeps it: its claimer asks again under the same member, and a start
        // takes the member out of the list.
        if (verdicts[i] === "done" && h.why === "busy" && h.job.limitKey !== undefined) {
          this.q.gone({ shard: this.d.keys.shard, jobId: h.job.jobId, limitKey: h.job.limitKey });
        }
        this.d.log.log("info", "held back by a rate limit (no attempt spent)", {
          ...fields,
          verdict: verdicts[i],
        });
      }
    } catch (err) {
      // It may have landed (the jobs are in the delayed set) or not (their entries still
      // pending here): never start them from here; the worker's own pending entries are read
      // again, which brings back exactly those still pending, no attempt counted.
      this.#unreachable(err, held.length);
      this.d.readLost();
    }
  }
}
