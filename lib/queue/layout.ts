// A producer's view of its queue's layout (lib/engine/layout.ts): read at connect, recorded
// before the first enqueue when the queue had none (docs/internals.md, "1. Enqueue").

import { checkFormat } from "../engine/format.ts";
import { type Layout, openLayout } from "../engine/layout.ts";
import type { Redis } from "../redis/connect.ts";

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
      const layout = await openLayout(this.client, prefix, queue, wanted, several);
      if (layout.shards !== this.#layout.shards) {
        // Another process made the queue meanwhile, with another count: use the queue's.
        await Promise.all(layout.keys.map((k) => checkFormat(this.client, k)));
        this.#layout = layout;
      }
    }).catch((err: unknown) => {
      this.#recorded = null;
      throw err;
    });
    return this.#recorded;
  }
}
