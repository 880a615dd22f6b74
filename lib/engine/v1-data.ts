// Data of format 1 (an earlier Courier), which wrote no `meta` hash: a queue whose jobs wait in v1's
// shape (a stream entry naming a job hash, a job hash with `task` and `status`) would be misread
// by this engine, its entries buried as corrupt. Looked for only when a queue has no format yet
// (once per process, never per job): the oldest stream entry and the first delayed job tell.
// A drained v1 queue (nothing waiting, delayed or in flight) shows none of it, and is safe.
import { RedisRefusedError } from "../errors.ts";
import { wrongTypeAs } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import type { QueueKeys } from "./keys.ts";

/** The refusal for a queue holding v1 data: what to do instead, in one line. */
export function formatOneLine(keys: Pick<QueueKeys, "meta">, format: number): string {
  const m = /^(.*):\{(.*)\}:meta$/.exec(keys.meta);
  const [prefix, queue] = m ? [m[1], m[2]] : ["?", "?"];
  return `queue "${queue}" (prefix ${prefix}) holds data of format 1 (an earlier Courier); this Courier reads format ${format}: drain it with the Courier that wrote it (courier info shows nothing waiting, delayed or in flight), then point this Courier at a new --prefix`;
}

/** Whether the queue holds jobs of data format 1 (an earlier Courier, no `meta`). */
export async function holdsV1Jobs(client: Redis, keys: QueueKeys): Promise<boolean> {
  const [entries, delayed] = await Promise.all([
    client
      .sendCommand<[string, string[]][]>(["XRANGE", keys.stream, "-", "+", "COUNT", "1"])
      .catch(wrongTypeAs([])),
    client.sendCommand<string[]>(["ZRANGE", keys.delayed, "0", "0"]).catch(wrongTypeAs([])),
  ]);
  // v1's entry is `id <job id>`; format 2's carries the job (`t`, `p`, `a`, `m`, …).
  const fields = entries[0]?.[1];
  if (fields && fields[0] === "id" && !fields.includes("t")) return true;
  const first = delayed[0];
  if (first === undefined) return false;
  // v1's delayed job is a hash with `task`; format 2's record has `t`.
  const v1 = await client
    .sendCommand<number>(["HEXISTS", keys.record(first), "task"])
    .catch(wrongTypeAs(0));
  return Number(v1) === 1;
}

/** Throws RedisRefusedError (exit 6) when the queue holds v1 jobs. */
export async function refuseV1Data(client: Redis, keys: QueueKeys, format: number): Promise<void> {
  if (await holdsV1Jobs(client, keys)) throw new RedisRefusedError(formatOneLine(keys, format));
}
