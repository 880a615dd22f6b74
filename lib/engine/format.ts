// The queue's data format (its `meta` hash, DATA_FORMAT): a process meeting a queue written in
// another format refuses it with one line, before it reads or writes anything else there, rather
// than misread it. Checked once per process, never per job; a producer's enqueue.lua also
// refuses a batch to a meta of another format (formatRefusal says it as checkFormat does).
import { ErrorReply } from "@redis/client";
import { RedisRefusedError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import { DATA_FORMAT, type QueueKeys } from "./keys.ts";
import { stampMeta } from "./meta.ts";
import { refuseV1Data } from "./v1-data.ts";

/**
 * Reads the queue's format (one HGET) and throws RedisRefusedError if it is another one, or if
 * it has none yet but holds jobs of a Courier of data format 1 (format 1 wrote no meta: lib/engine/v1-data.ts).
 * Returns whether the queue has a format yet (a fresh queue has none until written to).
 */
export async function checkFormat(client: Redis, keys: QueueKeys): Promise<boolean> {
  const format = await client.sendCommand<string | null>(["HGET", keys.meta, "format"]);
  refuseOther(keys, format);
  if (format === null) await refuseV1Data(client, keys, DATA_FORMAT);
  return format !== null;
}

/**
 * Writes this Courier's format on a fresh queue, else checks the queue's (meta.lua). A queue
 * without a format is looked at first: one holding v1 jobs is refused, never stamped.
 */
export async function stampFormat(client: Redis, keys: QueueKeys): Promise<void> {
  if (await checkFormat(client, keys)) return;
  refuseOther(keys, await stampMeta(client, keys, DATA_FORMAT));
}

function refuseOther(keys: QueueKeys, format: string | null): void {
  const refusal = otherFormat(keys, format);
  if (refusal) throw refusal;
}

function otherFormat(keys: QueueKeys, format: string | null): RedisRefusedError | null {
  if (format === null || format === String(DATA_FORMAT)) return null;
  const queue = /\{(.*)\}:meta$/.exec(keys.meta)?.[1] ?? "?";
  const shown = /^\d{1,6}$/.test(format) ? format : JSON.stringify(format.slice(0, 20));
  return new RedisRefusedError(
    `queue "${queue}" has data format ${shown}, this Courier reads format ${DATA_FORMAT}: upgrade Courier (or use another --queue/--prefix)`,
  );
}

/**
 * enqueue.lua's refusal of a batch (nothing written) to a shard whose meta says another format
 * (changed since the producer checked it at connect) as checkFormat says it; else `err`.
 */
export function formatRefusal(keys: QueueKeys, err: unknown): unknown {
  if (!(err instanceof ErrorReply)) return err;
  const format = /^courier: meta \S+ has data format ([\s\S]*)$/.exec(err.message)?.[1];
  return (format !== undefined && otherFormat(keys, format)) || err;
}
