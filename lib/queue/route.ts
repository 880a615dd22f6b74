// Routing a batch over a queue's shards (docs/internals.md, "1. Enqueue"): auto-id jobs go round
// robin, job by job; a job with an id (a caller's, or the one a delayed job is given) goes to
// shardOf(id), so dedup by id stays exact. Each shard's part is one script call on that shard's
// keys (a call never spans two shards: CROSSSLOT on a cluster), all sent at once (pipelined).

import {
  type EnqueueBatch,
  type EnqueueReply,
  enqueueBatch,
  prepareBatch,
} from "../engine/enqueue.ts";
import { enqueuePlain, isPlain } from "../engine/enqueue-plain.ts";
import { LEVELS, type Level, type QueueKeys, shardOf } from "../engine/keys.ts";
import { isLayoutRefusal, type LayoutHooks, sendByLayout } from "../engine/layout.ts";
import { NotReplicatedError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import { writeReplicated } from "../redis/replicated.ts";
import type { Enqueued, Prepared } from "./prepare.ts";

/** One shard's part of a batch: its jobs' places in the batch, and the part as sent. */
interface Part {
  shard: number;
  at: number[];
  batch: EnqueueBatch;
}

/**
 * Some parts of a batch were enqueued and others not (refused, or no answer): `jobs` holds the
 * enqueued ones in their places, null elsewhere, and `error` is the first part's failure.
 * lib/queue/bulk.ts reports the batch as runs of enqueued and refused jobs, so what a caller
 * is told was enqueued is exactly what was.
 */
export class PartialBatchError extends Error {
  constructor(
    readonly jobs: (Enqueued | null)[],
    readonly error: unknown,
  ) {
    super((error as Error)?.message ?? String(error));
  }
}

/** Sends one part; the Queue wraps it in its retries (a re-send returns the part's receipt). */
export type PartCall = (
  shard: number,
  size: number,
  send: () => Promise<Enqueued[]>,
) => Promise<Enqueued[]>;

/**
 * A batch sender over `keys` (every shard's, shard s at index s). Shards, the batch's id and the
 * ids of delayed jobs are fixed here, once: every try sends the same parts, and a part sent
 * again after a lost reply finds its receipt (`receipt:<batch>` under its shard's tag) and adds
 * nothing. `next` gives the shard of the next auto-id job (round robin, kept by the Queue).
 * Results keep the input order.
 */
export function shardedSender(
  client: Redis,
  keys: readonly QueueKeys[],
  jobs: readonly Prepared[],
  next: () => number,
  options: {
    receiptTtlMs: number;
    call: PartCall;
    onReply?: (r: EnqueueReply, shard: number) => void;
    /**
     * Whether a part of one plain job may go to `shard` by enqueue-one.lua (enqueue-plain.ts):
     * the producer sends nothing twice, and enqueue.lua created a job there lately (`plainOn`:
     * it just did); `plainOff`: a plain job found the shard otherwise.
     */
    plain?: (shard: number) => boolean;
    plainOn?: (shard: number) => void;
    plainOff?: (shard: number) => void;
    /**
     * The producer's layout (lib/queue/layout.ts): whether a part may make a shard with no meta,
     * and, after enqueue.lua refused a part for its layout (nothing written), the layout read
     * again: true, it holds (the part is sent again, making its shard); false, another count
     * (the refusal is thrown, in a PartialBatchError when other parts were enqueued:
     * ProducerLayout.sending sends the refused jobs again by the new one).
     * Absent: a shard is always made (a caller that has just read the layout).
     */
    layout?: LayoutHooks;
    /** Durability "replicated": a part is acknowledged once a replica has it, waiting this long. */
    replicaWaitMs?: number;
    /** The batch's id (its receipt's name; default a new UUIDv7): a scheduler names its tick. */
    batchId?: string;
    /** A scheduler's batch: its ids may have the reserved prefix (callerIdProblem). */
    scheduler?: boolean;
  },
): () => Promise<Enqueued[]> {
  const parts = split(prepareBatch(jobs, options.batchId, options.scheduler), keys.length, next);
  const sendPart = (p: Part) =>
    options.call(p.shard, p.batch.jobs.length, async () => {
      const one = p.batch.jobs.length === 1 ? p.batch.jobs[0]! : null;
      const send = (c: Redis): Promise<EnqueueReply> => {
        const script = async () => {
          const { layout, receiptTtlMs: ttl } = options;
          const k = keys[p.shard]!;
          const reply = await sendByLayout(layout, (create) =>
            enqueueBatch(c, k, p.batch, ttl, { create }),
          );
          // A job created: the shard's format is written (enqueue.lua did, or it was there).
          if (reply.jobs.some((j) => j.created)) options.plainOn?.(p.shard);
          return reply;
        };
        if (one === null || !isPlain(one) || !options.plain?.(p.shard)) return script();
        const off = () => options.plainOff?.(p.shard);
        return enqueuePlain(c, keys[p.shard]!, one, { script, off });
      };
      const { replicaWaitMs } = options;
      const reply =
        replicaWaitMs === undefined
          ? await send(client)
          : await sendReplicated(client, keys, p, replicaWaitMs, send);
      options.onReply?.(reply, p.shard);
      return reply.jobs.map((j) => ({ id: j.id, created: j.created }));
    });
  return async () => {
    if (parts.length === 1) return sendPart(parts[0]!); // one shard: as one batch always was
    const settled = await Promise.allSettled(parts.map(sendPart));
    const out: (Enqueued | null)[] = new Array(jobs.length).fill(null);
    let error: { cause: unknown } | undefined;
    settled.forEach((s, n) => {
      // A layout refusal is said only when no part failed otherwise (ProducerLayout.sending
      // sends a batch again only when nothing of it may have been written).
      if (s.status === "rejected") {
        if (!error || (isLayoutRefusal(error.cause) && !isLayoutRefusal(s.reason))) {
          error = { cause: s.reason };
        }
      } else for (const [k, i] of parts[n]!.at.entries()) out[i] = s.value[k]!;
    });
    if (!error) return out as Enqueued[];
    if (out.every((j) => j === null)) throw error.cause;
    throw new PartialBatchError(out, error.cause);
  };
}

/**
 * The batch's jobs by shard and level, in shard order (high, normal, low within a shard); each
 * part keeps the batch's id (its own receipt key under its shard's tag), a high or low part's
 * with `.<level>` after it, so two parts of one shard never share a receipt.
 */
function split(whole: EnqueueBatch, shards: number, next: () => number): Part[] {
  const level = whole.jobs[0]?.level;
  if (shards === 1 && level !== undefined && whole.jobs.every((j) => j.level === level)) {
    // One part, the whole batch (every bulk enqueue on one shard): no map of parts per job.
    const batchId = level === "normal" ? whole.batchId : `${whole.batchId}.${level}`;
    const at = whole.jobs.map((_, i) => i);
    return [{ shard: 0, at, batch: { batchId, jobs: whole.jobs, level } }];
  }
  type Jobs = EnqueueBatch["jobs"][number][];
  const parts = new Map<string, { shard: number; level: Level; at: number[]; jobs: Jobs }>();
  whole.jobs.forEach((job, i) => {
    const shard = shards === 1 ? 0 : job.id === "" ? next() : shardOf(job.id, shards);
    const key = `${shard}/${job.level}`;
    const part = parts.get(key) ?? { shard, level: job.level, at: [], jobs: [] };
    parts.set(key, part);
    part.at.push(i);
    part.jobs.push(job);
  });
  const rank = (p: { shard: number; level: Level }) => p.shard * 3 + LEVELS.indexOf(p.level);
  return [...parts.values()]
    .sort((a, b) => rank(a) - rank(b))
    .map((p) => {
      const batchId = p.level === "normal" ? whole.batchId : `${whole.batchId}.${p.level}`;
      return { shard: p.shard, at: p.at, batch: { batchId, jobs: p.jobs, level: p.level } };
    });
}

/**
 * A part sent with `WAIT 1` after it on its shard's master connection (lib/redis/replicated.ts):
 * its reply once a replica has it, else NotReplicatedError. The jobs are then on the master
 * only; sending the part again (the Queue's retries, within `retryConnectS`) adds nothing and
 * waits for a replica again.
 */
async function sendReplicated(
  client: Redis,
  keys: readonly QueueKeys[],
  p: Part,
  waitMs: number,
  send: (c: Redis) => Promise<EnqueueReply>,
): Promise<EnqueueReply> {
  const { value, replicas } = await writeReplicated(client, keys[p.shard]!.stream, waitMs, send);
  if (replicas >= 1) return value;
  const n = p.batch.jobs.length;
  // One job is named: it is on the master, and its id lets the caller look at it (`result ID`).
  const what =
    n === 1 ? `the job ${value.jobs[0]!.id} was enqueued` : `the batch of ${n} jobs was enqueued`;
  const where = keys.length > 1 ? ` of shard ${p.shard}` : "";
  throw new NotReplicatedError(
    `${what}, but no replica${where} confirmed it within ${waitMs} ms (durability replicated: WAIT 1 answered 0), so a failover now could lose it`,
  );
}
