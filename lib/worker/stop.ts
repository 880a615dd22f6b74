// How a worker stops: told to (stop(), SIGINT/SIGTERM/SIGHUP through lib/cli/worker.ts), or by itself
// when Redis refuses its reads for good. The steps are told in docs/internals.md, "8. Shutdown".

import { describeRefusal } from "../cli/refusal.ts";
import type { WorkerOptions } from "../config.ts";
import { giveBackEntries } from "../engine/give-back.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { type CourierError, RedisRefusedError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { within } from "../time.ts";
import { Grace } from "./grace.ts";
import { giveBackLateReads } from "./late-reads.ts";
import type { Links } from "./links.ts";
import type { Lanes } from "./loops.ts";
import { forgetName, leave } from "./presence.ts";
import type { Jobs } from "./running.ts";
import type { Upkeep } from "./upkeep.ts";

/**
 * The most a stop takes past its grace period to write outcomes, release, free slots and close:
 * its one deadline is the grace period plus this, whatever Redis does (away, stalled), so the
 * default 25 s grace stops in 29 s, under the 30 s most orchestrators wait before SIGKILL. Each
 * step's own bound (commandTimeoutMs) is cut to what is left of it. What is not done by then
 * (a release Redis did not answer) is claimed by other workers after claimIdleMs.
 */
export const STOP_MARGIN_MS = 4_000;

/** What a stop winds down; read when it runs (the worker replaces stalled connections). */
export interface StopParts {
  o: WorkerOptions;
  keys: QueueKeys;
  log: Logger;
  jobs: Jobs;
  loops: Lanes;
  upkeep: Upkeep;
  links: Links;
  /** The command connection now. */
  client: () => Redis;
  /** The read loops' run; the stop waits for it, so nothing is launched after it. */
  looping: () => Promise<void>;
  /** The stop began (the worker stops its other shards too). */
  onStopping?: () => void;
  /** This start's token (name.lua): the release checks the name is still this start's. */
  start: string;
  /** Resolves once its queue's running slots freed by jobs that ended are (queue-limits.ts). */
  freeing?: () => Promise<void>;
  /**
   * The first shard's: its command connection is the worker's shared one, through which every
   * shard's running slots are freed (lib/worker/worker-parts.ts): resolves once the other
   * shards' jobs have ended, so that their frees are asked for before it closes, and the other
   * queues' frees (a worker of several) are made.
   */
  othersEnded?: () => Promise<void>;
}

export class Stop {
  /** Resolves when the worker has stopped and closed its connections. */
  readonly stopped: Promise<void>;
  #stopping = false;
  #failure: CourierError | null = null;
  /** Another start holds the worker's name: what is pending on it is that start's, kept. */
  #taken = false;
  #resolveStopped!: () => void;
  #resolveEnded!: () => void;
  /** Resolves once this shard's jobs have ended or been given up (or it has stopped). */
  readonly ended = new Promise<void>((resolve) => {
    this.#resolveEnded = resolve;
  });
  /** The grace period: set by the first stop(), cut by a later one that ends it sooner. */
  readonly #grace = new Grace();

  constructor(private readonly p: StopParts) {
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  /** Set by halt(): the worker is stopping, this shard's stop() is still to come. */
  #halted = false;

  /** True from halt() or the first stop() on: no new reads, claims or launches. */
  get stopping(): boolean {
    return this.#stopping || this.#halted;
  }

  /**
   * Worker.stop() has begun (it ends the schedule loop's pass before the shards stop): nothing
   * more is read, claimed or started from now on; what was read meanwhile stays pending, and
   * stop() releases it.
   */
  halt(): void {
    this.#halted = true;
  }

  /** Why the worker stopped by itself (see Worker.failure), or null. */
  get failure(): CourierError | null {
    return this.#failure;
  }

  /** A read refused for good stops the worker (true); any other failure is retried (false). */
  refused(err: unknown): boolean {
    const line = describeRefusal(err);
    if (line === null) return false;
    if (!this.#failure) {
      this.#failure = new RedisRefusedError(line, { cause: err });
      const error = describeCause(err);
      this.p.log.log("error", "redis refused the worker's reads, stopping", { error });
    }
    void this.stop(this.p.o.shutdownGraceMs);
    return true;
  }

  /** Ends the grace period at `at` (performance.now()) if sooner: a later, shorter stop. */
  cut(at: number): void {
    this.#grace.cut(at);
  }

  /**
   * The worker's name was taken by another start while this process stalled (heartbeat.lua,
   * claim.lua own mode): marked here, then the worker stops every shard (Worker), which stops
   * reading and winds down what it runs. Those runs' entries have
   * been (or will be) claimed at a higher delivery count, so their late writes are fenced out.
   * It does not leave: the entries pending on the name, the hash and the place in `workers`
   * are the other start's (docs/internals.md, "A name taken over").
   */
  nameTaken(failure: CourierError): void {
    this.#taken = true;
    this.#failure ??= failure;
  }

  /**
   * Worker.stop(): the graceful stop, once; a second call waits for the first, its grace period
   * cut to end `graceMs` after `from` if that is sooner (cut). `from`: when the worker's stop
   * began (performance.now()): the grace period counts from then, and the whole stop ends by its
   * grace plus STOP_MARGIN_MS.
   */
  async stop(graceMs: number, from = performance.now()): Promise<void> {
    this.cut(from + graceMs);
    if (this.#stopping) return this.stopped;
    this.#stopping = true;
    this.p.onStopping?.();
    const { o, log, jobs, links } = this.p;
    const grace = this.#grace;
    /** A step's own bound, cut to what is left of the stop's. */
    const left = (ms: number) =>
      Math.max(0, Math.min(ms, grace.end + STOP_MARGIN_MS - performance.now()));
    this.p.upkeep.stop();
    // Interrupts the blocking read; anything it was delivered is released below.
    links.blocking.destroy();
    this.p.loops.wake();
    await within(this.p.looping(), left(o.commandTimeoutMs)); // a start in flight lands first
    // Held, never started (Jobs.close forgets them): given back without a run written.
    const held = [...jobs.held.keys()];
    await jobs.windDown(grace, STOP_MARGIN_MS);
    this.#resolveEnded();
    await within(this.p.upkeep.stopLeases(), left(o.commandTimeoutMs)); // a beat in flight lands
    this.p.upkeep.stopCancels();
    // Taken: nothing is released (it is the other start's); this process may start the name again.
    if (this.#taken) forgetName(this.p.keys, o.name);
    else await this.#release(held, left(o.commandTimeoutMs));
    // The running slots its ended (and dropped) jobs freed, with the wakes of their keys' next
    // waiters, go through the connection closed below: made first. Bounded as the release is.
    // The shared connection's shard waits for the other shards' jobs first (their frees use it).
    const others = this.p.othersEnded?.();
    if (others) await within(others, left(Number.POSITIVE_INFINITY));
    const freeing = this.p.freeing?.();
    if (freeing && !(await within(freeing, left(o.commandTimeoutMs)))) {
      log.log("warn", "could not free rate-limit slots in time (they free themselves later)");
    }
    // Outcomes still unwritten (Redis away past the grace period): their entries stay pending
    // and other workers claim them after claimIdleMs.
    const unwritten = jobs.outcomes.close();
    if (unwritten > 0) log.log("warn", "stopped with unwritten outcomes", { count: unwritten });
    // Replies still pending on them are waited for within what is left of the deadline.
    const closeMs = left(5_000);
    await Promise.all([links.commands.close(closeMs), links.lane?.close(closeMs)]);
    this.#resolveEnded();
    this.#resolveStopped(); // the worker logs `worker stopped` once every shard has
  }

  /**
   * Gives what is still pending on this worker back to the others at once. Bounded: with Redis
   * away the call would wait in the offline queue for ever; what is not released is claimed by
   * other workers after claimIdleMs. A name taken by a later start before this stop found out
   * (a stalled process stopped before its next heartbeat) releases nothing: release.lua checks.
   */
  async #release(held: string[], withinMs: number): Promise<void> {
    const { o, log } = this.p;
    const released = this.#giveBack(held)
      .then(() => leave(this.p.client(), this.p.keys, o.name, this.p.start))
      .then(async (n) => {
        // What it re-added, a read Redis had not seen closed may have taken (late-reads.ts).
        if (n !== null && n > 0) await this.#lateReads();
        return n;
      })
      .then((n) => this.#released(n))
      .catch((err) => log.log("warn", "could not release jobs", { error: describeCause(err) }));
    if (!(await within(released, withinMs))) {
      log.log("warn", "could not release jobs", { error: "Redis did not answer in time" });
    }
  }

  /**
   * Entries held for a slot and never started go back as a give-back does (give-back.lua): no
   * run is written for them, as release.lua would (`released`). A failed call leaves them to
   * the release.
   */
  async #giveBack(held: string[]): Promise<void> {
    if (held.length === 0) return;
    const { o, log, keys } = this.p;
    try {
      const verdicts = await giveBackEntries(this.p.client(), keys, o.name, held, this.p.start);
      const back = verdicts.filter((v) => v === "back").length;
      if (back > 0) log.log("info", "held jobs given back unstarted", { count: back });
    } catch (err) {
      log.log("warn", "could not give held jobs back; releasing them", {
        error: describeCause(err),
      });
    }
  }

  async #lateReads(): Promise<void> {
    const { o, log, keys } = this.p;
    const back = await giveBackLateReads(this.p.client(), keys, o.name, this.p.start);
    if (back > 0)
      log.log("info", "jobs a closing read took from the release given back", { count: back });
  }

  #released(n: number | null): void {
    const { o, log, keys } = this.p;
    if (n === null) {
      if (keys.level) return; // said once, by the shard's normal view
      log.log("warn", "worker name taken by another start; its jobs left to it", {
        worker: o.name,
      });
    } else if (n > 0) log.log("info", "released unfinished jobs", { count: n });
  }
}
