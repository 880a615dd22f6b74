// Entries read or claimed, sorted into the jobs to run and those set aside first: buried
// alone (they fail the entry check) or left for a worker that has their task. The rest of a
// batch runs, through the queue's rate limits when it has any. The base of Claims and Source
// (lib/worker/claims.ts, take.ts): the jobs a worker takes all pass here.

import type { WorkerOptions } from "../config.ts";
import { buryEntries } from "../engine/bury.ts";
import type { TakenEntry } from "../engine/finish.ts";
import { leaveForOthers } from "../engine/leave.ts";
import { type Logger, throttled } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { cutText, ID_SHOWN_MAX } from "../safe-text.ts";
import { exponentialMs } from "../time.ts";
import { type BadEntry, type Sorted, type Startable, sortFresh } from "./entries.ts";
import { deferralDelaysMs } from "./retry-policy.ts";
import type { TakeContext } from "./take.ts";

/** The longest wait before entries that could not be set aside are looked at again (ms). */
const SET_ASIDE_RETRY_MAX_MS = 2_000;

export abstract class SetAside {
  protected readonly o: WorkerOptions;
  /** Set-asides failed in a row: the wait before the next look grows with them. */
  #failures = 0;
  readonly #failed: (fields: Record<string, unknown>) => void;

  constructor(
    protected readonly w: TakeContext,
    protected readonly links: { client: () => Redis; reader: () => Redis },
    protected readonly log: Logger,
    /** True once the worker stops: deliveries read meanwhile are not run. */
    protected readonly stopping: () => boolean,
  ) {
    this.o = w.o;
    this.#failed = throttled(log, "could not set entries aside; looking again");
  }

  /** Own pending entries are to be read again (Claims.readLost): setting aside failed. */
  abstract readLost(): void;

  /**
   * Entries a finish took for this worker (lib/worker/outcome-writes.ts): the jobs to run; at once
   * (not through a promise) when none is to be set aside and no rate limit applies, the
   * common case at concurrency 1.
   */
  taken(entries: TakenEntry[]): Startable[] | Promise<Startable[]> {
    const s = this.sortFresh(entries);
    const plain = !this.w.limit && s.bad.length === 0 && s.lacked.length === 0;
    if (plain && !this.stopping()) return s.run;
    return this.sorted(s, this.links.client(), "read");
  }

  protected sortFresh(entries: readonly TakenEntry[]): Sorted {
    return sortFresh(entries, this.w.tasks, this.w.keys.idSuffix);
  }

  /**
   * The jobs to run; the rest is set aside first (buried, or left for another worker). Setting
   * aside that fails (Redis away) leaves those entries pending here: found again by reading
   * own pending entries, without an attempt counted.
   */
  protected async sorted(s: Sorted, client: Redis, kind: "read" | "claim"): Promise<Startable[]> {
    // Stopping meanwhile: nothing is run or set aside; stop() releases what is pending.
    if (this.stopping()) return [];
    const limit = this.w.limit;
    if (s.bad.length === 0 && s.lacked.length === 0) return limit ? limit(s.run, kind) : s.run;
    const failed = await Promise.all([this.#bury(s, client), this.#leave(s, client)]).then(
      () => null,
      (err: unknown) => ({ err }),
    );
    if (failed === null) this.#failures = 0;
    else if (!(await this.#lookAgainLater(failed.err))) return [];
    return limit ? limit(s.run, kind) : s.run;
  }

  /**
   * Setting aside failed: those entries stay pending here, read again by the next own read
   * after a wait that grows with the failures in a row (a refusal that lasts, such as a stream
   * with no ids left, would otherwise be met again at once, thousands of times a second). A
   * refusal for good (a queue-wide key of another type) stops the worker instead: false.
   */
  async #lookAgainLater(err: unknown): Promise<boolean> {
    if (this.w.refused?.(err)) return false;
    this.#failed({ error: describeCause(err) });
    this.readLost();
    const waitMs = this.lookAgainInMs(this.#failures++);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    return !this.stopping();
  }

  /** The wait after `failures` set-asides failed in a row before this one (tests shorten it). */
  protected lookAgainInMs(failures: number): number {
    return exponentialMs(100, failures, SET_ASIDE_RETRY_MAX_MS);
  }

  async #bury(s: Sorted, client: Redis): Promise<void> {
    if (s.bad.length === 0) return;
    const { o } = this.w;
    const bo = { consumer: o.name, failureTtlS: this.w.compact() ? 0 : o.failureTtlS };
    await buryEntries(client, this.w.keys, { ...bo, ...deadLimits(o) }, s.bad);
    for (const b of s.bad) {
      const fields = { job: b.id || null, entry: b.entryId, problem: b.problem };
      this.log.log("error", "corrupt record: dead-lettered", fields);
    }
  }

  async #leave(s: Sorted, client: Redis): Promise<void> {
    if (s.lacked.length === 0) return;
    const left = s.lacked.map((l) => ({ entry: l.entryId, id: null, task: l.task }));
    const delays = deferralDelaysMs(this.o.random);
    const verdicts = await leaveForOthers(client, this.w.keys, this.o.name, delays, left);
    const unusable: BadEntry[] = [];
    for (const [i, l] of s.lacked.entries()) {
      const v = verdicts[i];
      // A name written by hand may be 1 MB: cut past any Courier takes (logged each hand-round).
      const fields = { job: l.jobId, entry: l.entryId, task: cutText(l.task, ID_SHOWN_MAX) };
      if (v === "deferred") this.log.log("info", LEFT.deferred, fields);
      else if (v === "parked") this.log.log("warn", LEFT.parked, fields);
      else if (v === "unusable") {
        const problem = `its record ${this.w.keys.record(l.jobId)} holds another type than a hash`;
        unusable.push({ entryId: l.entryId, id: l.jobId, problem });
      }
    }
    // A job that cannot wait on its record (leave.lua): dead-lettered here, not handed round.
    await this.#bury({ run: [], bad: unusable, lacked: [] }, client);
  }
}

function deadLimits(o: WorkerOptions) {
  return { deadMaxLen: o.deadMaxLen, eventsMaxLen: o.eventsMaxLen };
}

/** Why an entry was left without running it, for the worker's log. */
const LEFT = {
  deferred: "not a task of this worker; left for a worker that has it",
  parked: "no live worker has this task; the job waits for one",
} as const;
