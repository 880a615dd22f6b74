// A worker's periodic work beside its read loops: due retries promoted (which also probes the
// command connection for a stall), heartbeats, Redis' memory read, and leases renewed.
import type { WorkerOptions } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { Logger } from "../log.ts";
import type { Redis } from "../redis/connect.ts";
import { type MemoryWatch, readMemory } from "../redis/memory.ts";
import { watchdog } from "../redis/watchdog.ts";
import { every } from "../time.ts";
import { CancelWatch } from "./cancels.ts";
import type { FlowDrain } from "./flows.ts";
import type { Leases } from "./leases.ts";
import type { Links } from "./links.ts";
import { heartbeat } from "./presence.ts";
import { promoteAll, promoteOnce } from "./retry-policy.ts";
import type { Jobs } from "./running.ts";

/** How often Redis' memory is read while it is full. */
const FULL_POLL_MS = 200;

export interface UpkeepDeps {
  o: WorkerOptions;
  keys: QueueKeys;
  name: string;
  tasks: readonly string[];
  links: Links;
  jobs: Jobs;
  leases: Leases;
  memory: MemoryWatch;
  stalled: (connection: keyof Links) => void;
  onRedisError: (err: unknown) => void;
  /**
   * Serving parked jobs was refused for good (a queue-wide key of another type): true when the
   * worker stops for it, as for a refused read (Stop.refused).
   */
  refused?: (err: unknown) => boolean;
  log: Logger;
  /** This start's token (name.lua). */
  start: string;
  /** A heartbeat found the name held by another start. */
  onNameTaken: () => void;
  /** The shard's ended parents drained (a level's view has none: its shard's normal view drains). */
  flows?: FlowDrain;
}

export class Upkeep {
  #timers: (() => void)[] = [];
  #leaseTimer: ReturnType<typeof setInterval> | undefined;
  #memoryRead: Promise<void> | null = null;
  #cancelTimer: (() => void) | null = null;
  #beatTimer: (() => void) | null = null;
  /** The heartbeat in flight (its failure is the timer's to report). */
  #beating: Promise<void> = Promise.resolve();
  /** Parked sets of another type the last heartbeat found (each logged once, when first found). */
  #corrupt = new Set<string>();
  /** Stopped: a promotion loop under way ends after its current call. */
  #stopped = false;

  constructor(private readonly d: UpkeepDeps) {}

  get #client(): Redis {
    return this.d.links.commands.client;
  }

  start(): void {
    const { o, keys, links, stalled } = this.d;
    this.#stopped = false;
    // The promote calls also probe the command connection: no reply in time means it stalled
    // (each call watched: while more is due they follow each other, each bounded by bytes).
    // The lane connection gets a PING (its takes are watched, but not its starts and writes).
    this.#every(o.promoteEveryMs, () => {
      const lane = links.lane;
      const probe =
        lane &&
        watchdog(lane.client.sendCommand(["PING"]), o.commandTimeoutMs, () => stalled("lane"));
      const once = () =>
        watchdog(promoteOnce(this.#client, keys), o.commandTimeoutMs, () => stalled("commands"));
      const promote = promoteAll(once, () => this.#stopped);
      return Promise.all([promote, probe]);
    });
    // Not in #timers either: the hash lives 6 beats, and a stop may wait longer for its jobs
    // (the restart for a queue's levels: their time limit); stopLeases ends it.
    this.#beatTimer = every(o.heartbeatEveryMs, () => this.#beat(), this.d.onRedisError);
    // Dependencies: one read of an (in the common case empty) set per shard and tick, never per job.
    const flows = this.d.flows;
    if (flows) this.#every(o.promoteEveryMs, () => flows.drain());
    // Not in #timers: a job canceled during a graceful stop still aborts (stopCancels).
    const cancels = new CancelWatch(() => this.#client, keys, this.d.jobs);
    this.#cancelTimer = every(o.cancelCheckMs, () => cancels.look(), this.d.onRedisError);
    // While Redis is full, its memory is read more often than at each heartbeat: draining
    // moves it quickly, and a paused worker should resume soon after there is room.
    this.#every(Math.min(FULL_POLL_MS, o.heartbeatEveryMs), () =>
      this.d.memory.fullSince === null ? Promise.resolve() : this.readMemory(),
    );
    this.#leaseTimer = setInterval(() => void this.#renewLeases(), this.d.leases.everyMs);
    void this.#beat().catch(this.d.onRedisError);
  }

  /**
   * Stops the timers; leases are renewed, and heartbeats sent, until stopLeases (jobs may still
   * be finishing).
   */
  stop(): void {
    this.#stopped = true;
    for (const stopTimer of this.#timers.splice(0)) stopTimer();
  }

  /**
   * Resolves once a heartbeat in flight has landed: the release that follows deletes the hash,
   * which a beat landing after it would write again (a worker shown for 6 beats after it left).
   */
  stopLeases(): Promise<void> {
    clearInterval(this.#leaseTimer);
    this.#beatTimer?.();
    this.#beatTimer = null;
    return this.#beating;
  }

  /** Stops the look for canceled jobs: after the stop's wind-down, when none runs any more. */
  stopCancels(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = null;
  }

  /** Reads Redis' memory; one read at a time (a read asked for meanwhile gets that one). */
  readMemory(): Promise<void> {
    this.#memoryRead ??= readMemory(this.#client)
      .then((m) => this.d.memory.observe(m))
      .finally(() => {
        this.#memoryRead = null;
      });
    return this.#memoryRead;
  }

  #every(ms: number, fn: () => Promise<unknown>): void {
    this.#timers.push(every(ms, fn, this.d.onRedisError));
  }

  #renewLeases(): Promise<void> {
    return this.d.leases.renew(this.d.name, this.d.jobs.entryIds()).catch(this.d.onRedisError);
  }

  #beat(): Promise<void> {
    const beat = this.#heartbeat();
    this.#beating = beat.catch(() => {});
    return beat;
  }

  /** Beats, and reads Redis' memory: the one place a worker learns that Redis is full again. */
  async #heartbeat(): Promise<void> {
    // A shard's normal view beats for its level views too (they beat nowhere): their sums.
    const all = [this.d.jobs, ...this.d.jobs.levelViews];
    const sum = (count: (j: Jobs) => number) => all.reduce((n, j) => n + count(j), 0);
    const counts = {
      inFlight: sum((j) => j.inFlight),
      processed: sum((j) => j.processed),
      failed: sum((j) => j.failed),
    };
    const o = { ...this.d.o, start: this.d.start };
    // Settled apart: the beat's answer is acted on whatever the memory read or serving met.
    const [beat, memory] = await Promise.allSettled([
      heartbeat(this.#client, this.d.keys, o, counts, this.d.tasks, !this.#stopped),
      this.readMemory(),
    ]);
    if (beat.status === "rejected") throw beat.reason;
    if (!beat.value.held) this.d.onNameTaken();
    this.#reportCorrupt(beat.value.corrupt);
    const served = beat.value.serveFailed;
    if (served !== undefined && !this.d.refused?.(served)) throw served;
    if (memory.status === "rejected") throw memory.reason;
  }

  /**
   * One line per parked set of another type when a beat first finds it (not one per beat: it
   * stays until someone deletes it), again if it comes back after being fixed.
   */
  #reportCorrupt(keys: readonly string[]): void {
    for (const key of keys) {
      if (this.#corrupt.has(key)) continue;
      this.d.log.log("error", "parked jobs' key holds another type than a zset; its jobs wait", {
        key,
      });
    }
    this.#corrupt = new Set(keys);
  }
}

/**
 * Tells the memory watch what each written outcome takes, and lets it shrink failures while
 * Redis is full; `wake` runs the read loops when it changes its mind about taking new jobs.
 */
export function watchMemory(jobs: Jobs, memory: MemoryWatch, wake: () => void): void {
  jobs.outcomes.onRecovered = () => memory.wrote();
  jobs.outcomes.compactFailures = () => memory.fullSince !== null;
  // What takes memory: a result, a retry through the delayed set (1), and a failure for good
  // written while Redis had room (its failed outcome and letter). A failure for good on a full
  // Redis frees its stream entry (its compact letter drops the oldest:
  // lib/engine/lua/include/dead.lua), a retry run again at once on a full Redis (RERUN) keeps
  // its entry and writes nothing, and an outcome left alone (0: a duplicate, or not this run's)
  // takes nothing.
  jobs.onOutcome = (outcome, reply) =>
    memory.outcomeWritten(
      reply === 1 || (outcome.kind === "fail" && reply === 2 && outcome.compact !== true),
    );
  memory.onChange = wake;
}
