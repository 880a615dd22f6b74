// The `events()` iterators a Queue has open (lib/queue/events.ts): each made here from its
// `from`, and all ended by Queue.close().

import type { ProducerOptions } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";
import { connectService } from "../redis/service-client.ts";
import { isClusterUrl } from "../redis/url.ts";
import { ORIGIN, type Position, parseCursor, queueTag } from "./event-cursor.ts";
import { EventStream, type EventsOptions } from "./events.ts";

export class EventStreams {
  #open = new Set<EventStream>();

  /** A new iterator over the shards `keys` (a bad `from` throws InputError, nothing opened). */
  open(
    client: Redis,
    keys: readonly QueueKeys[],
    queue: ProducerOptions,
    options: EventsOptions,
  ): EventStream {
    const tag = queueTag(queue.prefix, queue.queue);
    const start = startOf(options.from ?? "now", tag, keys.length);
    // Blocking reads hold their connection: each iterator opens its own (connect.ts `blocking`).
    const open = () => connectService(queue, "courier-events", { blocking: true });
    const closed = () => this.#open.delete(stream);
    const cluster = isClusterUrl(queue.redisUrl);
    const stream = new EventStream({ client, keys, tag, open, cluster, closed }, start, options);
    this.#open.add(stream);
    return stream;
  }

  /** Ends every iterator still open (a next() waiting resolves done). */
  closeAll(): void {
    for (const stream of [...this.#open]) stream.close();
  }
}

/** Where each shard begins for `from` (see EventsOptions.from); a bad cursor throws InputError. */
export function startOf(from: string, tag: string, shards: number): "now" | Position[] {
  if (from === "now") return "now";
  if (from === "start") return Array.from({ length: shards }, () => ORIGIN);
  return parseCursor(from, tag, shards);
}
