// Redis' memory as Courier sees it: used and max bytes (INFO memory), and whether Redis is
// full. With maxmemory-policy noeviction (the policy a queue needs) a full Redis refuses every
// command that may take memory: producers get RedisFullError; workers keep draining (their
// scripts write first with a command that takes no memory: lib/engine/lua/include/memory.lua)
// up to their memoryHeadroomPct past maxmemory, then wait for room (MemoryWatch, below).

import { isOomError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { isNoPerm } from "./cause.ts";
import type { Redis } from "./connect.ts";

export interface RedisMemory {
  usedBytes: number;
  /** maxmemory; 0 = no limit. */
  maxBytes: number;
  policy: string;
  /** At or over maxmemory (what Redis counts for it: used memory less replication buffers). */
  full: boolean;
  /** On a cluster: host:port of the master these figures are of (memory-nodes.ts). */
  node?: string;
  /** On a cluster, read over every master: how many were read (the fullest is reported). */
  nodes?: number;
}

/** Parses the reply of `INFO memory`. */
export function parseMemory(info: string): RedisMemory {
  const value = (name: string) => new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim();
  const usedBytes = Number(value("used_memory") ?? 0);
  const maxBytes = Number(value("maxmemory") ?? 0);
  const notCounted = Number(value("mem_not_counted_for_evict") ?? 0);
  const full = maxBytes > 0 && usedBytes - notCounted >= maxBytes;
  return { usedBytes, maxBytes, policy: value("maxmemory_policy") ?? "unknown", full };
}

/** Reads Redis' memory; null when this user may not run INFO (an ACL without it). */
export async function readMemory(client: Redis): Promise<RedisMemory | null> {
  try {
    return parseMemory(String(await client.sendCommand(["INFO", "memory"])));
  } catch (err) {
    if (isNoPerm(err)) return null;
    throw err;
  }
}

/**
 * Bytes as people read them, in powers of 1024 as redis.conf's `8mb`: 8 MB, 1.5 MB, 712 kB, 90 B
 * (one decimal under 10, none when it is .0).
 */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const text = i > 0 && v < 10 ? v.toFixed(1).replace(/\.0$/, "") : String(Math.round(v));
  return `${text} ${units[i]}`;
}

/**
 * What a job may add to Redis' memory before a worker sees it in INFO: a finished word-count
 * job with its result kept weighs 0.93 kB (docs/performance.md; 1.9 kB on Engine v1), kept at
 * 4 kB for margin (a larger result).
 */
const BYTES_PER_START = 4_096;
/** Jobs a worker may start between two reads of INFO when it is close to the limit, or past it. */
export const STARTS_PER_READ = 16;

/**
 * A worker's view of whether Redis is full: a write refused for lack of memory, or INFO over
 * maxmemory (read with each heartbeat, more often while full, and after every budget of
 * starts). Logs one line when Redis becomes full and one when it has room again, not one per
 * refused attempt.
 *
 * It also bounds how far a worker takes Redis past maxmemory (a script's writes after its
 * first are not checked by Redis): each read of INFO allows as many starts as the room up to
 * the limit (maxmemory plus `headroomPct`) holds at BYTES_PER_START each, at least
 * STARTS_PER_READ; once they are taken, INFO is read again before more start. Past the limit,
 * jobs start (STARTS_PER_READ per read) only until an outcome that takes memory is written
 * (Engine v2: a result or a retry through the delayed set does, a queued job being only its
 * ~95 B stream entry; a failure for good on a full Redis does not: its compact letter drops
 * the oldest one; nor does a retry there, run again at once: fail.lua run_again), and
 * then nothing new starts until there is room (results expire, letters are purged, maxmemory
 * is raised). The jobs in flight still finish: past the limit by at most (concurrency +
 * STARTS_PER_READ) jobs.
 */
export class MemoryWatch {
  #refused = false;
  #over = false;
  #since: number | null = null;
  #last: RedisMemory | null = null;
  /** Starts left before INFO must be read again. */
  #allowance = Number.POSITIVE_INFINITY;
  /** Since Redis was last seen under the limit, an outcome that takes memory was written. */
  #took = false;
  /** Called when the state changes (the read loops look again). */
  onChange: () => void = () => {};
  /** Called when the starts allowed by the last read are taken: read INFO, then observe(). */
  onReadNeeded: () => void = () => {};

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly headroomPct = 0,
  ) {}

  /** Since when Redis is full (ms since the epoch), or null. */
  get fullSince(): number | null {
    return this.#since;
  }

  /**
   * Start no new jobs until there is room: Redis refuses writes, or is past maxmemory by more
   * than the headroom and the outcomes written take memory (what jobs in flight write is
   * bounded by the concurrency; what new jobs would write is not). Headroom 0: none past
   * maxmemory.
   */
  get paused(): boolean {
    if (this.#refused) return true;
    const m = this.#last;
    if (!m || m.maxBytes === 0 || m.usedBytes <= this.#limit(m)) return false;
    return this.headroomPct === 0 || this.#took;
  }

  /**
   * An outcome was written: `takes` when it takes memory (a result, a retry through the
   * delayed set).
   */
  outcomeWritten(takes: boolean): void {
    if (!takes || this.#took) return;
    this.#took = true;
    this.onChange();
  }

  /** How many of `n` jobs may start now (taken); 0 = none until the next read. */
  take(n: number): number {
    if (this.paused) return 0;
    const granted = Math.min(n, this.#allowance);
    this.#allowance -= granted;
    if (this.#allowance <= 0) this.onReadNeeded();
    return granted;
  }

  /** What /healthz says while Redis is full; null when it is not. */
  reason(): string | null {
    if (this.#since === null) return null;
    const paused = this.paused ? "; starting no new jobs until it has room" : "";
    return `redis out of memory since ${new Date(this.#since).toISOString()}${paused}`;
  }

  /** A command failed: true when it was refused for lack of memory (now recorded). */
  refused(err: unknown): boolean {
    if (!isOomError(err)) return false;
    this.#refused = true;
    this.#update();
    return true;
  }

  /** A write went through after a refusal. */
  wrote(): void {
    if (!this.#refused) return;
    this.#refused = false;
    this.#update();
  }

  /** What INFO memory said. */
  observe(m: RedisMemory | null): void {
    this.#last = m;
    this.#over = m?.full ?? false;
    // Under maxmemory: Redis takes writes again, even if no refused one has been retried yet.
    if (m && !m.full) this.#refused = false;
    this.#allowance = this.#budget(m);
    this.#update();
  }

  /** maxmemory plus the headroom, in bytes. */
  #limit(m: RedisMemory): number {
    return m.maxBytes * (1 + this.headroomPct / 100);
  }

  /** Starts allowed until the next read. */
  #budget(m: RedisMemory | null): number {
    if (!m || m.maxBytes === 0) return Number.POSITIVE_INFINITY;
    const room = this.#limit(m) - m.usedBytes;
    if (room < 0) return STARTS_PER_READ;
    this.#took = false; // under the limit: what was written before is seen
    return Math.max(STARTS_PER_READ, Math.floor(room / BYTES_PER_START));
  }

  #update(): void {
    this.onChange();
    const full = this.#refused || this.#over;
    const m = this.#last;
    const fields = m
      ? {
          used: formatBytes(m.usedBytes),
          max: m.maxBytes > 0 ? formatBytes(m.maxBytes) : "no limit",
        }
      : {};
    if (full && this.#since === null) {
      this.#since = this.now();
      this.log.log("warn", "redis is out of memory", {
        ...fields,
        policy: m?.policy,
      });
    } else if (!full && this.#since !== null) {
      const fullForMs = this.now() - this.#since;
      this.#since = null;
      this.log.log("info", "redis has room again", { ...fields, fullForMs });
    }
  }
}
