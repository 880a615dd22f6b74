// Dependencies, the worker's side (docs/internals.md, "Dependencies and batches"): draining a
// shard's `ended-parents`. Each ended parent's dependents are told on their shards
// (parent-ended.lua: released to their stream, or failed), then the parent leaves the set
// (ended.lua 'done'). Every worker of the shard drains, every promoteEveryMs and at once when a
// finish of its own ended a parent; a worker that dies mid-way leaves the parents in the set
// and another tells their dependents again, which changes nothing (parent-ended.lua removes a
// parent from a child's waits once). Every SWEEP_EVERY_MS a drain also finishes the children
// whose producer stopped before its last step (lib/worker/orphans.ts).

import type { KeptTtls } from "../engine/depend.ts";
import { doneEnded, readEnded } from "../engine/ended.ts";
import { type QueueKeys, shardOf } from "../engine/keys.ts";
import { type ParentEnded, type TellOptions, tellChildren } from "../engine/parent-ended.ts";
import { type Logger, silentLogger, throttled } from "../log.ts";
import type { Redis } from "../redis/connect.ts";
import { letGo } from "./holds.ts";
import { sweepOrphans } from "./orphans.ts";

/**
 * Parents read per drain call; (child, parent) pairs per parent-ended.lua call, which is also
 * the most children one read returns (a parent with more is told a page per read).
 */
const PARENTS_PER_READ = 100;
const PAIRS_PER_CALL = 1_000;
/** How often a drain looks for stale children (one script call per shard). */
const SWEEP_EVERY_MS = 10_000;
/**
 * Most reads per drain (each: 100 ended parents and 1,000 of their children, 100 released
 * children looked at, 100 let go):
 * a drain keeps up with thousands of children ending per second, and still ends; the next
 * tick goes on.
 */
const READS_PER_DRAIN = 50;

export class FlowDrain {
  #running: Promise<void> | null = null;
  #again = false;
  #sweptAt = Number.NEGATIVE_INFINITY;
  readonly #sweepFailed: (fields: Record<string, unknown>) => void;

  constructor(
    private readonly client: () => Redis,
    /** The shard drained. */
    private readonly keys: QueueKeys,
    /** Every shard of the queue (children may live on any), shard s at index s. */
    private readonly all: readonly QueueKeys[],
    private readonly o: TellOptions & KeptTtls,
    log: Logger = silentLogger,
  ) {
    this.#sweepFailed = throttled(log, "orphan sweep failed", SWEEP_EVERY_MS * 6);
  }

  /** Drains; a drain asked for while one runs runs once more after it. */
  drain(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #loop(): Promise<void> {
    if (performance.now() - this.#sweptAt >= SWEEP_EVERY_MS) {
      this.#sweptAt = performance.now();
      // A sweep refused (an ACL without a command it needs, a hand-edited key) must not stop
      // the drain of ended parents behind it: it is said, and tried again next time.
      await sweepOrphans(this.client(), this.keys, this.all, this.o).catch((err: Error) =>
        this.#sweepFailed({ error: String(err?.message ?? err) }),
      );
    }
    let reads = 0;
    do {
      this.#again = false;
      while (reads++ < READS_PER_DRAIN && (await this.#once())) {}
    } while (this.#again && reads < READS_PER_DRAIN);
  }

  /**
   * One page of ended parents told and done, and of children that ended let go of their
   * parents (lib/worker/holds.ts); true when there may be more.
   */
  async #once(): Promise<boolean> {
    const read = await readEnded(this.client(), this.keys, PARENTS_PER_READ, PAIRS_PER_CALL);
    const { parents: ended, lettingGo } = read;
    await letGo(this.client(), this.keys, this.all, lettingGo, this.o);
    const more = read.sweptMore || read.childrenMore || lettingGo.length === PARENTS_PER_READ;
    if (ended.length === 0) return more;
    const byShard = new Map<number, ParentEnded[]>();
    for (const p of ended) {
      for (const child of p.children) {
        const s = shardOf(child, this.all.length);
        if (s < 0) continue; // an id of no shard names no child: nothing to tell
        const list = byShard.get(s) ?? [];
        list.push({ child, parent: p.id, letter: p.letter });
        byShard.set(s, list);
      }
    }
    await Promise.all(
      [...byShard].map(async ([s, items]) => {
        for (let at = 0; at < items.length; at += PAIRS_PER_CALL) {
          await tellChildren(
            this.client(),
            this.all[s]!,
            this.o,
            items.slice(at, at + PAIRS_PER_CALL),
          );
        }
      }),
    );
    await doneEnded(this.client(), this.keys, ended);
    return more || ended.length === PARENTS_PER_READ;
  }
}
