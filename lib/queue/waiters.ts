// The connections a Queue's waits block on: a blocking read holds its connection, so each wait
// running at once (and each shard of a wait: lib/queue/shards.ts) gets one of its own, kept
// afterwards for the next wait.

import { closeClient } from "../redis/close.ts";
import type { Redis } from "../redis/connect.ts";

export class Waiters {
  /** All of them, and those not in use right now. */
  #all = new Set<Redis>();
  #idle: Redis[] = [];
  readonly #open: () => Promise<Redis>;

  constructor(open: () => Promise<Redis>) {
    this.#open = open;
  }

  /** Runs `wait` with a connection of its own, an idle one when there is one. */
  async with<T>(wait: (blocking: Redis) => Promise<T>): Promise<T> {
    const blocking = this.#idle.pop() ?? (await this.#open());
    this.#all.add(blocking);
    try {
      return await wait(blocking);
    } finally {
      // Closed meanwhile (Queue.close): not handed out again.
      if (this.#all.has(blocking)) this.#idle.push(blocking);
    }
  }

  /** Closes every connection, in use or not. */
  async close(): Promise<void> {
    const clients = [...this.#all];
    this.#all.clear();
    this.#idle = [];
    await Promise.all(clients.map((c) => closeClient(c)));
  }
}
