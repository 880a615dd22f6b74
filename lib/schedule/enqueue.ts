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
import { LATE_MS, tickAfter } from "./ticks.ts";

/**
 * How long a tick's receipt is kept: a tick is fired again (planTick) only before its
 * schedule's next tick, or within LATE_MS of it when that is later, so the receipt outlives
 * that by a margin for clocks (the shard's and the schedules' masters may differ): after it,
 * firing the tick again is impossible, not just unlikely. At least RECEIPT_TTL_MS.
 */
export function tickReceiptTtlMs(def: ScheduleDef, tickMs: number): number {
  const next = tickAfter(def, tickMs) ?? tickMs;
  return Math.max(RECEIPT_TTL_MS, Math.max(next - tickMs, LATE_MS) + RECEIPT_MARGIN_MS);
}

/** What a tick's receipt outlives its last possible re-fire by (clock differences). */
const RECEIPT_MARGIN_MS = 60_000;

export class TickEnqueuer {
  #layouts = new Map<string, Promise<ProducerLayout>>();

  constructor(
    readonly client: Redis,
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
   * The batch is named by the id too, and its receipt kept until the tick can no longer be fired
   * again (tickReceiptTtlMs): so a tick fired again after its job's record expired (a scheduler
   * that crashed before the advance, back hours later) still finds it fired.
   */
  async enqueue(name: string, def: ScheduleDef, tickMs: number): Promise<boolean> {
    const layout = await this.#layout(def.queue);
    const id = scheduleJobId(name, tickMs);
    const job = prepareJob(
      { task: def.task, payload: def.payload, id },
      { maxAttempts: defaults.maxAttempts, scheduler: true },
    );
    await layout.record((fn) => fn());
    let replayed = false;
    // By the queue's layout as read, or as read again when a shard refused it (emptied and made
    // again with other shards: lib/queue/layout.ts).
    const [done] = await layout.sending([job], (jobs, { keys, shards }) =>
      shardedSender(this.client, keys, jobs, () => 0, {
        receiptTtlMs: tickReceiptTtlMs(def, tickMs),
        call: (_shard, _size, fn) => fn(),
        replicaWaitMs: this.replicaWaitMs,
        batchId: id,
        scheduler: true,
        layout: layout.hooks(shards),
        onReply: (r) => {
          replayed ||= r.replayed === true;
        },
      })(),
    );
    return done?.created === true && !replayed;
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
