// A scheduler's producer: the job of a tick enqueued on a connection the scheduler already has
// (a worker's command connection, the standalone scheduler's own), to the shard its id names
// (lib/queue/route.ts), the queue's layout read once per queue and process.
import { defaults } from "../config.ts";
import { RECEIPT_TTL_MS } from "../engine/enqueue.ts";
import { scheduleJobId } from "../engine/keys.ts";
import { ProducerLayout } from "../queue/layout.ts";
import { prepareJob } from "../queue/prepare.ts";
import { shardedSender } from "../queue/route.ts";
import type { Redis } from "../redis/connect.ts";
import type { ScheduleDef } from "./spec.ts";

export class TickEnqueuer {
  #layouts = new Map<string, Promise<ProducerLayout>>();

  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
    /**
     * Durability "replicated": a tick's job counts as enqueued once a replica has it (WAIT 1, up
     * to this long); else NotReplicatedError, and the tick, not advanced, is fired again.
     */
    private readonly replicaWaitMs?: number,
  ) {}

  /**
   * Enqueues the job of `name`'s tick `tickMs` (id `sched:<name>:<tick>`); false when it existed
   * already (fired before: by another scheduler, or by this one before a lost reply or crash).
   */
  async enqueue(name: string, def: ScheduleDef, tickMs: number): Promise<boolean> {
    const layout = await this.#layout(def.queue);
    const spec = { task: def.task, payload: def.payload, id: scheduleJobId(name, tickMs) };
    const job = prepareJob(spec, { maxAttempts: defaults.maxAttempts });
    await layout.record((fn) => fn());
    const { keys } = layout.current;
    const send = shardedSender(this.client, keys, [job], () => 0, {
      receiptTtlMs: RECEIPT_TTL_MS,
      call: (_shard, _size, fn) => fn(),
      replicaWaitMs: this.replicaWaitMs,
    });
    const [done] = await send();
    return done?.created === true;
  }

  #layout(queue: string): Promise<ProducerLayout> {
    let found = this.#layouts.get(queue);
    if (!found) {
      const names = { prefix: this.prefix, queue, shards: undefined };
      found = ProducerLayout.open(this.client, names);
      // A failed open (Redis away, another format) is tried again by the next tick.
      found.catch(() => this.#layouts.delete(queue));
      this.#layouts.set(queue, found);
    }
    return found;
  }
}
