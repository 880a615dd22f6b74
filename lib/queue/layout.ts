// A producer's view of its queue's layout (lib/engine/layout.ts): read at connect, recorded
// before the first enqueue when the queue had none, read again when a shard refuses a part for
// its layout (a queue emptied and made again under the producer: docs/internals.md, "A queue
// of N > 1 shards").

import { LAYOUT_READ_FRESH_MS } from "../config.ts";
import { checkFormat } from "../engine/format.ts";
import { isLayoutRefusal, type Layout, openLayout } from "../engine/layout.ts";
import { InputError, RedisRefusedError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import type { Enqueued } from "./prepare.ts";
import { PartialBatchError } from "./route.ts";

interface Names {
  prefix: string;
  queue: string;
  /** The `shards` option: undefined = what the queue has. */
  shards: number | undefined;
}

export class ProducerLayout {
  #layout: Layout;
  /** Done: the queue had a format at connect, or the record below was made. */
  #recorded: Promise<void> | null;
  /**
   * When the layout was read at connect, or by the record before the first enqueue (this
   * host's monotonic ms): see mayCreate. Not by reread: that read licenses the part it was
   * made for only (sent again at once), never the batches after it.
   */
  #readAt = performance.now();
  /** A read again under way (reread), shared by the parts refused meanwhile. */
  #rereading: Promise<void> | null = null;

  private constructor(
    readonly client: Redis,
    readonly names: Names,
    layout: Layout,
    recorded: boolean,
  ) {
    this.#layout = layout;
    this.#recorded = recorded ? Promise.resolve() : null;
  }

  /**
   * Reads the layout, writing nothing (a `shards` that differs from the queue's is refused:
   * ConfigError, one line), and refuses a queue of another data format on any shard before
   * anything else is read or written there.
   */
  static async open(client: Redis, names: Names): Promise<ProducerLayout> {
    const layout = await openLayout(client, names.prefix, names.queue, names.shards, false);
    const formats = await Promise.all(layout.keys.map((k) => checkFormat(client, k)));
    return new ProducerLayout(client, names, layout, formats.every(Boolean));
  }

  get current(): Layout {
    return this.#layout;
  }

  /**
   * Before the first enqueue to a queue that had no format at connect: a queue of several
   * shards has its count recorded (HSETNX: the first record wins, and a `shards` option it
   * contradicts is refused). A queue of one shard is recorded by its first batch itself, whose
   * format write in `{queue}:meta` (enqueue.lua, with the jobs) reads as one shard
   * (lib/engine/layout.ts); the layout is read again just before it, so a queue made meanwhile
   * with other shards is used (or refused), not written over. No extra write: a producer's
   * first batch on a nearly full Redis has the room it always had. `call` runs it with the
   * Queue's retries; a failed record is tried again by the next enqueue.
   */
  record(call: (fn: () => Promise<void>) => Promise<void>): Promise<void> {
    this.#recorded ??= call(async () => {
      const { prefix, queue, shards: wanted } = this.names;
      const several = this.#layout.shards > 1;
      await this.#use(await openLayout(this.client, prefix, queue, wanted, several));
      this.#readAt = performance.now();
    }).catch((err: unknown) => {
      this.#recorded = null;
      throw err;
    });
    return this.#recorded;
  }

  /**
   * Whether a part sent by a layout of `shards` may make a shard that has no meta
   * (enqueueBatch's `create`): never when that layout was replaced since; always on a queue of
   * one shard (its meta is the layout, which enqueue.lua reads); else only within
   * LAYOUT_READ_FRESH_MS of the read at connect or before the first enqueue (a new queue's first
   * batch in one call). A shard of several cannot see the layout: its
   * missing meta may be the queue emptied (FLUSHALL, a restart without data) and made again
   * with other shards, and jobs written there would be read by no worker.
   */
  mayCreate(shards: number): boolean {
    if (shards !== this.#layout.shards) return false; // a part sent by a layout since replaced
    return shards === 1 || performance.now() - this.#readAt < LAYOUT_READ_FRESH_MS;
  }

  /**
   * After enqueue.lua refused a part (isLayoutRefusal: nothing written): reads the layout
   * again, recording this producer's count on a queue that has none (emptied, not made again:
   * its jobs are then where its next workers read), taking another count the queue was made
   * with meanwhile (a `shards` option it contradicts: ConfigError). Returns whether `shards`
   * (the count the part was sent by) still holds: the part may then make its shard.
   */
  async reread(shards: number): Promise<boolean> {
    this.#rereading ??= (async () => {
      const { prefix, queue, shards: wanted } = this.names;
      const n = this.#layout.shards;
      await this.#use(await openLayout(this.client, prefix, queue, wanted, true, n));
    })().finally(() => {
      this.#rereading = null;
    });
    await this.#rereading;
    return this.#layout.shards === shards;
  }

  /**
   * Sends a batch by the current layout (`send`, results in input order). Jobs refused for a
   * layout that changed meanwhile (nothing of theirs written: reread took the new one), the
   * whole batch or some shards' parts of it (PartialBatchError), are sent once more by the new
   * layout, those jobs only: a part accepted (a shard both layouts share) is never sent twice.
   * Refused again (the queue made again once more meanwhile): RedisRefusedError, one line, in
   * a PartialBatchError naming the jobs enqueued when some were.
   */
  async sending<J>(
    jobs: readonly J[],
    send: (jobs: readonly J[], layout: Layout) => Promise<Enqueued[]>,
  ): Promise<Enqueued[]> {
    const layout = this.#layout;
    const refused = await send(jobs, layout).then(
      (done) => ({ done }),
      (err: unknown) => ({ err }),
    );
    if ("done" in refused) return refused.done;
    const { err } = refused;
    const out = layoutRefused(err, jobs.length);
    if (out === null) throw err;
    if (this.#layout === layout) throw this.#refusal(out, err);
    const at = out.flatMap((j, i) => (j === null ? [i] : []));
    try {
      const again = await send(
        at.map((i) => jobs[i]!),
        this.#layout,
      );
      at.forEach((i, k) => {
        out[i] = again[k]!;
      });
      return out as Enqueued[];
    } catch (again) {
      if (again instanceof PartialBatchError) {
        at.forEach((i, k) => {
          out[i] = again.jobs[k]!;
        });
        throw this.#refusal(out, again.error);
      }
      throw this.#refusal(out, again);
    }
  }

  /**
   * `err` for jobs `out` (null: not enqueued), a layout refusal said in one line: the queue was
   * made again under the producer faster than it could follow (RedisRefusedError). Thrown as
   * it is when nothing was enqueued, else in a PartialBatchError.
   */
  #refusal(out: readonly (Enqueued | null)[], err: unknown): unknown {
    let error = err;
    if (isLayoutRefusal(err)) {
      const { prefix, queue } = this.names;
      const n = this.#layout.shards;
      error = new RedisRefusedError(
        `queue "${queue}" (prefix ${prefix}) was emptied and made again with other shards (now ${n}) while jobs were sent to it: ${out.filter((j) => j === null).length} not enqueued, send them again`,
        { cause: err },
      );
    }
    return out.every((j) => j === null) ? error : new PartialBatchError([...out], error);
  }

  /**
   * `look` by the current layout; an InputError (a parent it did not find) looked again by
   * the layout read again when that replaced it: a queue emptied and made again with another
   * count may hold it in a shard of its own. The read is made on that failure only.
   */
  async findAgain(look: (layout: Layout) => Promise<void>): Promise<void> {
    const layout = this.#layout;
    await look(layout).catch(async (err: unknown) => {
      if (!(err instanceof InputError) || (await this.reread(layout.shards))) throw err;
      await look(this.#layout);
    });
  }

  /** shardedSender's `layout` hooks, for the parts of a batch sent by a layout of `shards`. */
  hooks(shards: number) {
    return { mayCreate: () => this.mayCreate(shards), reread: () => this.reread(shards) };
  }

  /** A layout just read: kept (its formats checked first when it is another count). */
  async #use(layout: Layout): Promise<void> {
    if (layout.shards !== this.#layout.shards) {
      // Another process made the queue meanwhile, with another count: use the queue's.
      await Promise.all(layout.keys.map((k) => checkFormat(this.client, k)));
      this.#layout = layout;
    }
  }
}

/**
 * The jobs of a batch refused for its layout (nothing of theirs written): each enqueued one, and
 * null for those refused, the whole batch (a layout refusal) or some parts (a PartialBatchError
 * whose cause is one: route.ts says a layout refusal only when no part failed otherwise). null
 * for any other failure.
 */
function layoutRefused(err: unknown, n: number): (Enqueued | null)[] | null {
  if (isLayoutRefusal(err)) return new Array(n).fill(null);
  if (err instanceof PartialBatchError && isLayoutRefusal(err.error)) return [...err.jobs];
  return null;
}
