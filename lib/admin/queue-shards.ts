// One queue's shards as the operator's view reads them: their keys (from the queue's layout,
// fixed once it is recorded), a call on every shard with Redis' time on that shard's node, and
// ids grouped by the shard they live in. Admin and its dead-letter and control actions go
// through here, so no caller picks a shard or a clock by hand.

import { type QueueKeys, shardKeys, shardOf } from "../engine/keys.ts";
import { openLayout, readShards } from "../engine/layout.ts";
import { redisNowMs } from "../redis/clock.ts";
import { onNodeOf } from "../redis/cluster.ts";
import type { Redis } from "../redis/connect.ts";
import { byShard } from "./shards.ts";

export class QueueShards {
  /** The shards' keys once the queue's layout is recorded (fixed from then on). */
  #shards: QueueKeys[] | null = null;

  constructor(
    readonly client: Redis,
    readonly prefix: string,
    readonly queue: string,
  ) {}

  /**
   * Every shard's keys, shard s at index s, from the queue's layout (read once it is recorded;
   * a queue with none yet is read as one shard, and looked at again next time).
   */
  async shards(): Promise<QueueKeys[]> {
    if (this.#shards) return this.#shards;
    const n = await readShards(this.client, this.prefix, this.queue);
    const keys = shardKeys(this.prefix, this.queue, n ?? 1);
    if (n !== null) this.#shards = keys;
    return keys;
  }

  /** The queue's layout (written when `write` and the queue has none); its shard count. */
  async layout(write: boolean, wanted: number | undefined): Promise<number> {
    const layout = await openLayout(this.client, this.prefix, this.queue, wanted, write);
    if (write) this.#shards = layout.keys;
    return layout.shards;
  }

  /** `fn` on every shard, with Redis' time on that shard's node. */
  async each<T>(fn: (keys: QueueKeys, now: number) => Promise<T>): Promise<T[]> {
    const shards = await this.shards();
    return Promise.all(shards.map(async (keys) => fn(keys, await this.nowOf(keys))));
  }

  /** `fn` on each shard holding some of `ids` (shardOf), with those ids. */
  async byShard(ids: readonly string[], fn: (keys: QueueKeys, ids: string[]) => Promise<void>) {
    const shards = await this.shards();
    await Promise.all([...byShard(ids, shards.length)].map(([s, some]) => fn(shards[s]!, some)));
  }

  /** The keys of the shard `id` lives in; null for an id no shard of the queue can hold. */
  async shardOf(id: string): Promise<QueueKeys | null> {
    const shards = await this.shards();
    return shards[shardOf(id, shards.length)] ?? null;
  }

  /**
   * Redis' time on the node holding a shard (the clock its scripts wrote the shard's times by):
   * TIME is keyless, so on a cluster it is sent to the master of the shard's slot.
   */
  nowOf(keys: QueueKeys): Promise<number> {
    return redisNowMs(onNodeOf(this.client, keys.meta));
  }
}
