// One shard's worker: read → run → write the outcome on one shard's keys, with leases renewed
// while jobs run, lapsed leases of dead workers claimed, due retries promoted, and a graceful
// stop. A Worker (lib/worker/worker.ts) runs one per shard of its queue, sharing one
// concurrency limit (lib/worker/slots.ts). The chain is told in docs/internals.md. Its parts,
// made at its start: lib/worker/shard-wiring.ts; connections: lib/worker/links.ts; timers:
// lib/worker/upkeep.ts; stopping: lib/worker/stop.ts.

import { stampFormat } from "../engine/format.ts";
import type { CourierError } from "../errors.ts";
import { checkPermissions, workerCommands } from "../redis/permissions.ts";
import { ensureGroup } from "./entries.ts";
import { linksReady } from "./links.ts";
import { claimName, handOverPredecessor } from "./presence.ts";
import { ShardWiring } from "./shard-wiring.ts";

export class ShardWorker extends ShardWiring {
  /** This start claimed the worker's name in this shard (a failed start frees it). */
  claimed = false;
  #ended = false;

  /**
   * Readies the shard: permissions (`check`: with one shard the worker checked them already),
   * its format stamp, the group, the worker's name, a predecessor's entries handed over, and
   * Redis' memory read (a full Redis is known before the first job is taken).
   */
  async open(check: boolean): Promise<void> {
    const { o, keys } = this;
    if (check) await checkPermissions(this.client, workerCommands(keys, o.name), o.prefix);
    await stampFormat(this.client, keys); // before anything is written there
    await ensureGroup(this.client, keys);
    await claimName(this.client, keys, o, this.start, this.log);
    this.claimed = !keys.level; // a level's view claims nothing (presence.ts)
    await handOverPredecessor(this.client, keys, o.name);
    await this.upkeep.readMemory();
  }

  /** The pause began or ended (lib/worker/pause.ts): the read loops and held entries look again. */
  wake(): void {
    this.loops.wake();
  }

  /** Own pending entries may have been left unseen (a connection is back): read them. */
  readLost(): void {
    this.source.readLost();
  }

  get failure(): CourierError | null {
    return this.shutdown.failure;
  }

  /** Another start holds the name: the stop to come leaves nothing (Stop.nameTaken). */
  nameTaken(failure: CourierError): void {
    this.shutdown.nameTaken(failure);
  }

  get stopped(): Promise<void> {
    return this.shutdown.stopped;
  }

  /** Resolves once its stop has ended its jobs (or given them up), or it has stopped. */
  get ended(): Promise<void> {
    return this.shutdown.ended;
  }

  get processed(): number {
    return this.jobs.processed;
  }

  get failed(): number {
    return this.jobs.failed;
  }

  get inFlight(): number {
    return this.jobs.inFlight;
  }

  /** Connected to Redis and reading (for /healthz). */
  ready(): boolean {
    return !this.shutdown.stopping && linksReady(this.links);
  }

  /** Why this shard cannot make (full) progress, for /healthz; null when nothing is wrong. */
  problem(): string | null {
    if (this.shutdown.stopping) return "stopping";
    if (!this.ready()) return "not connected to redis";
    return this.memory.reason();
  }

  /** Ms since a read loop's last turn (for /livez); 0 once the loops have ended (burst mode). */
  get quietMs(): number {
    return this.#ended ? 0 : performance.now() - this.loops.lastTurn;
  }

  /** Starts the timers and the read loops; resolves when the loops have ended. */
  run(): Promise<void> {
    this.upkeep.start();
    this.looping = this.loops.run(this.lanes).finally(() => {
      this.#ended = true;
    });
    return this.looping;
  }

  /** Nothing more is read or started (Stop.halt); stop() comes after. */
  halt(): void {
    this.shutdown.halt();
  }

  /** Graceful stop of this shard (docs/internals.md, "8. Shutdown"). Safe to call more than once. */
  stop(graceMs: number, from?: number): Promise<void> {
    return this.shutdown.stop(graceMs, from);
  }

  /** A later stop's grace period, ending at `at` (performance.now()) if sooner (Stop.cut). */
  cut(at: number): void {
    this.shutdown.cut(at);
  }
}
