// `Queue.events()`: the queue's events (finished, failed, retried, canceled, progress, …) as an
// async iterator, so a service reacts to jobs without polling, and resumes from a cursor.
//
// Every shard has its own events stream. On one server one connection reads them all: a
// non-blocking XRANGE per shard (lib/queue/event-read.ts), and when none has anything new one
// XREAD BLOCK over every shard's stream, which only wakes the reader. On a Redis Cluster the
// shards sit in different slots (one XREAD over them is CROSSSLOT), so each shard is read by a
// blocking client of its own, merged as they come. Events of one shard arrive in order; shards
// are not ordered against each other.

import type { QueueKeys } from "../engine/keys.ts";
import { isRetryableConnect } from "../redis/cause.ts";
import { destroy } from "../redis/close.ts";
import type { Redis } from "../redis/connect.ts";
import { exponentialMs, pause } from "../time.ts";
import { encodeCursor, type Position } from "./event-cursor.ts";
import {
  lastEntries,
  type QueueEvent,
  type ReadEvent,
  readShard,
  refused,
  throwIfRefused,
} from "./event-read.ts";

/** Entries read per shard and read: a finish entry names a whole batch of jobs. */
const READ_COUNT = 100;
/** At most this many events a read: an entry naming more jobs (a corrupt one of millions) is
 * read in parts, its position half-way through it (a finish names one batch, far fewer). */
const READ_EVENTS_MAX = 100_000;

export interface EventsOptions {
  /**
   * Where to begin: `"now"` (the default: only events written after the iterator began, like
   * `tail -f`; `cursor()` resolves once it has), `"start"` (every event the streams still
   * keep), or a cursor an event carried.
   */
  from?: string;
  /** Longest one blocking read waits before it is made again, ms (default 1,000). */
  blockMs?: number;
  /**
   * Told when a read fails (Redis down), or finding where it begins does: the iterator keeps
   * trying, with back-off, until it is closed. A read Redis refuses for good (WRONGTYPE, NOPERM) ends it with a RedisRefusedError.
   */
  onError?: (err: unknown) => void;
}

/** What the iterator needs of its Queue. */
export interface EventSource {
  client: Redis;
  keys: readonly QueueKeys[];
  tag: string;
  /** Opens a blocking connection (one server, or the node of a cluster it reads from). */
  open: () => Promise<Redis>;
  cluster: boolean;
  /** Told once it is closed (the Queue forgets it). */
  closed: () => void;
}

/** The shards one connection reads, and the read under way there. */
interface Group {
  client: Redis;
  shards: number[];
  pending: Promise<{ group: Group; events: ReadEvent[] }> | null;
}

export class EventStream implements AsyncIterableIterator<QueueEvent> {
  readonly #source: EventSource;
  readonly #options: EventsOptions;
  /** Per shard: how far it is read, and how far the caller has been given events. */
  #read: Position[] = [];
  #given: Position[] = [];
  #groups: Group[] = [];
  #ready: Promise<void>;
  #buffer: ReadEvent[] = [];
  #at = 0;
  #closed = false;
  /** Aborted by close(): ends a back-off at once (a timer left would keep the host up). */
  #stop = new AbortController();
  /** One step at a time: a next() called before the last one resolved waits for it. */
  #turn: Promise<unknown> = Promise.resolve();

  /** @internal: use Queue.events(). `start`: where each shard begins, or how to find it. */
  constructor(source: EventSource, start: "now" | Position[], options: EventsOptions) {
    this.#source = source;
    this.#options = options;
    this.#ready = this.#open(start);
    this.#ready.catch(() => {}); // reported by the first next()
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The cursor after the last event given (before any: where the iterator began). */
  async cursor(): Promise<string> {
    await this.#ready;
    return encodeCursor(this.#source.tag, this.#given);
  }

  next(): Promise<IteratorResult<QueueEvent>> {
    const step = this.#turn.then(() => this.#step());
    this.#turn = step.catch(() => {});
    return step;
  }

  async return(): Promise<IteratorResult<QueueEvent>> {
    this.close();
    return { done: true, value: undefined };
  }

  /** Ends the iterator and closes its connections; a next() waiting resolves done. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    for (const g of this.#groups) destroy(g.client);
    this.#groups = [];
    this.#source.closed();
  }

  async #step(): Promise<IteratorResult<QueueEvent>> {
    // Ended (closed, or it threw once): done from then on, as a generator.
    if (this.#closed) return { done: true, value: undefined };
    try {
      await this.#ready;
      while (this.#at >= this.#buffer.length && !this.#closed) await this.#fill();
    } catch (err) {
      this.close();
      throw err;
    }
    if (this.#closed) return { done: true, value: undefined };
    const { event, position } = this.#buffer[this.#at++]!;
    this.#given[event.shard] = position;
    const cursor = encodeCursor(this.#source.tag, this.#given);
    return { done: false, value: { ...event, cursor } as QueueEvent };
  }

  /** Waits for the first group with events (the others' reads go on for the next call). */
  async #fill(): Promise<void> {
    for (const g of this.#groups)
      g.pending ??= this.#fetch(g).then((events) => ({ group: g, events }));
    const { group, events } = await Promise.race(this.#groups.map((g) => g.pending!));
    group.pending = null;
    this.#buffer = events;
    this.#at = 0;
  }

  /**
   * Finds where it begins and opens its connections; Redis away meanwhile (restarting, a
   * failover): tried again with back-off until closed, each failure told to `onError`, as a
   * failed read is. A refusal (a wrong password, WRONGTYPE, NOPERM) ends it at its first next().
   */
  async #open(start: "now" | Position[]): Promise<void> {
    for (let failures = 0; !this.#closed; failures++) {
      try {
        // "now" once read is kept for the tries after: a later one would skip what was written
        // between the two (the iterator began at the first).
        return await this.#openOnce(this.#read.length > 0 ? this.#read : start);
      } catch (err) {
        if (this.#closed) return;
        if (!isRetryableConnect(err)) throw err;
        this.#options.onError?.(err);
        await pause(exponentialMs(100, failures, 2_000), this.#stop.signal);
      }
    }
  }

  async #openOnce(start: "now" | Position[]): Promise<void> {
    const { keys, cluster } = this.#source;
    const client = this.#source.client;
    this.#read = start === "now" ? await lastEntries(client, keys).catch(refused) : start;
    this.#given = [...this.#read];
    const sets = cluster ? keys.map((_, s) => [s]) : [keys.map((_, s) => s)];
    const opened = await Promise.allSettled(sets.map(() => this.#source.open()));
    const clients = opened.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
    const failed = opened.find((o) => o.status === "rejected");
    if (failed || this.#closed) {
      for (const c of clients) destroy(c);
      if (failed) throw (failed as PromiseRejectedResult).reason;
      return;
    }
    this.#groups = sets.map((shards, i) => ({ client: clients[i]!, shards, pending: null }));
  }

  /** Reads until a shard of `g` has events; Redis down: retried until closed. */
  async #fetch(g: Group): Promise<ReadEvent[]> {
    for (let failures = 0; !this.#closed; ) {
      try {
        const events = await this.#readOnce(g);
        if (events) return events;
        failures = 0;
      } catch (err) {
        if (this.#closed) break;
        throwIfRefused(err);
        this.#options.onError?.(err);
        await pause(exponentialMs(100, failures++, 2_000), this.#stop.signal);
      }
    }
    return [];
  }

  /** One non-blocking read of every shard of `g`; none had events: one blocking read, null. */
  async #readOnce(g: Group): Promise<ReadEvent[] | null> {
    const { keys } = this.#source;
    const reads = g.shards.map((s) =>
      readShard(g.client, keys[s]!.events, s, this.#read[s]!, READ_COUNT, READ_EVENTS_MAX),
    );
    const done = await Promise.all(reads);
    done.forEach((r, i) => {
      this.#read[g.shards[i]!] = r.next;
    });
    const events = done.flatMap((r) => r.events);
    if (events.length > 0) return events;
    const blockMs = blockLimitMs(this.#options.blockMs);
    const streams = g.shards.map((s) => keys[s]!.events);
    const ids = g.shards.map((s) => this.#read[s]!.entry);
    // Only a wake-up: what it returns is read again by the XRANGEs, which tell a gap.
    await g.client.sendCommand([
      "XREAD",
      "COUNT",
      "1",
      "BLOCK",
      String(blockMs),
      "STREAMS",
      ...streams,
      ...ids,
    ]);
    return null;
  }
}

/** `blockMs` when it is a positive number of ms, else 1,000 (never NaN to Redis). */
function blockLimitMs(blockMs: number | undefined): number {
  return blockMs !== undefined && Number.isFinite(blockMs) && blockMs >= 1
    ? Math.round(blockMs)
    : 1_000;
}
