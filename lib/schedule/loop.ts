// The scheduler loop, in every worker (for the queues it serves; `worker --no-schedules` opts
// out) and in `schedule.ts run` (every queue): passes (lib/schedule/fire.ts) separated by a
// sleep until the earliest next tick, at most WAIT_MAX_MS, so a schedule added meanwhile is
// seen within a second without polling faster. Any number of loops run at once: each tick
// still makes exactly one job.

import { scheduleKeys } from "../engine/keys.ts";
import { NoAnswerError } from "../errors.ts";
import { type Logger, throttled } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { cutText, ID_SHOWN_MAX } from "../safe-text.ts";
import { TickEnqueuer } from "./enqueue.ts";
import { firePass, type PassResult } from "./fire.ts";

/** The longest sleep between passes: how soon a new or resumed schedule is seen. */
export const WAIT_MAX_MS = 1_000;

export interface LoopOptions {
  /**
   * The connection, read at each pass: a worker's command connection is replaced when it
   * stalls (lib/redis/link.ts), and a loop that kept the first one would fire nothing again.
   */
  client: () => Redis;
  prefix: string;
  /** Empty: every queue's schedules. */
  queues: readonly string[];
  log: Logger;
  /** Durability "replicated": each tick's job waits for a replica this long (TickEnqueuer). */
  replicaWaitMs?: number;
  /** Told after each pass (what it fired, what is stuck). */
  onPass?: (r: PassResult) => void;
  /** Every queue's: queues read per pass (default DUE_QUEUES_PAGE, lib/engine/schedule.ts). */
  queuesPage?: number;
  /**
   * Told when a pass got no answer (NoAnswerError): a standalone scheduler's connection, which
   * nothing else watches, is replaced then; kept, a cut one would fire nothing again.
   */
  stalled?: () => void;
}

export class ScheduleLoop {
  #stopped = false;
  #wake: (() => void) | null = null;
  #done: Promise<void> | null = null;
  /** The producer of ticks' jobs, made again when the connection was replaced. */
  #enqueuer: TickEnqueuer | null = null;
  /** Where the next pass reads `queues` from, and the earliest tick seen in this sweep. */
  #sweep: { cursor: string; readAgain: boolean; earliest: number | null } = {
    cursor: "0",
    readAgain: false,
    earliest: null,
  };

  constructor(private readonly o: LoopOptions) {}

  start(): void {
    this.#done ??= this.#run();
  }

  /** Ends the loop after the pass it is in, if any (a pass is a few calls). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#done;
  }

  async #run(): Promise<void> {
    const failed = throttled(this.o.log, "could not fire recurring schedules");
    const stuck = throttled(this.o.log, "a recurring schedule could not fire");
    while (!this.#stopped) {
      let waitMs = WAIT_MAX_MS;
      try {
        const { cursor, readAgain } = this.#sweep;
        const client = this.o.client();
        const enqueuer = this.#enqueuerOn(client);
        const r = await firePass({ ...this.o, client, enqueuer, cursor, readAgain });
        // A name written by hand may be 1 MB: cut past any Courier takes.
        for (const s of r.stuck) stuck({ schedule: cutText(s.name, ID_SHOWN_MAX), error: s.why });
        if (r.unanswered) this.o.stalled?.();
        for (const queue of r.broken) {
          const key = scheduleKeys(this.o.prefix).next(queue);
          failed({ queue, error: `key ${key} holds another type than a sorted set` });
        }
        this.o.onPass?.(r);
        waitMs = this.#afterPass(r);
      } catch (err) {
        failed({ error: describeCause(err) });
        if (err instanceof NoAnswerError) this.o.stalled?.();
      }
      if (waitMs > 0 && !this.#stopped) await this.#sleep(waitMs);
    }
  }

  /** The enqueuer on `client`: a new one (its layouts read again) once the client changed. */
  #enqueuerOn(client: Redis): TickEnqueuer {
    if (this.#enqueuer?.client !== client) {
      this.#enqueuer = new TickEnqueuer(client, this.o.prefix, this.o.replicaWaitMs);
    }
    return this.#enqueuer;
  }

  /**
   * How long to wait after a pass: none while it moved a schedule or a sweep of every queue
   * goes on (a page a pass), else until the earliest tick the sweep saw.
   */
  #afterPass(r: PassResult): number {
    const seen = this.#sweep.earliest;
    const earliest =
      seen === null || (r.earliest !== null && r.earliest < seen) ? r.earliest : seen;
    this.#sweep = {
      ...{ cursor: r.cursor, readAgain: r.readAgain },
      earliest: r.cursor === "0" ? null : earliest,
    };
    if (r.again || r.cursor !== "0") return 0;
    return sleepMs(earliest, r.now);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}

/**
 * Until the earliest next tick (on Redis' clock: the difference is a duration, the same here),
 * at most WAIT_MAX_MS; at least 1 ms.
 */
function sleepMs(earliest: number | null, now: number): number {
  if (earliest === null) return WAIT_MAX_MS;
  return Math.min(WAIT_MAX_MS, Math.max(1, earliest - now));
}
