// The events stream as a wait reads it (lib/queue/wait.ts): the cursor it starts from, the
// blocking reads, the progress events it tells, and a read Redis refuses for good.

import { describeRefusal } from "../cli/refusal.ts";
import { json } from "../engine/ended-record.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { RedisRefusedError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import { field } from "../redis/reply.ts";
import type { WaitOptions } from "./wait.ts";

/**
 * Throws what a caller's callback threw (CallbackThrew), and a RedisRefusedError when Redis
 * refused a read for good (WRONGTYPE, NOPERM): retrying
 * would wait for ever. Only the events key is read outside a script (the outcomes read a key of
 * another type as absent), so a WRONGTYPE names it.
 */
export async function refuseForGood(client: Redis, keys: QueueKeys, err: unknown): Promise<void> {
  if (err instanceof CallbackThrew) throw err.thrown; // the caller's, not Redis': no retry
  const line = describeRefusal(err);
  if (line === null) return;
  const type = /\bWRONGTYPE\b/.test(line)
    ? await client.sendCommand<string>(["TYPE", keys.events]).catch(() => null)
    : null;
  if (type === null || type === "stream" || type === "none")
    throw new RedisRefusedError(line, { cause: err });
  throw new RedisRefusedError(
    `Redis refused a wait (WRONGTYPE): key ${keys.events} holds a ${type}, not a stream (the queue's events); another program uses these keys: give Courier its own --prefix, or delete that key`,
    { cause: err },
  );
}

export async function lastEventId(client: Redis, keys: QueueKeys): Promise<string> {
  const reply = (await client.sendCommand(["XREVRANGE", keys.events, "+", "-", "COUNT", "1"])) as [
    string,
    string[],
  ][];
  return reply[0]?.[0] ?? "0-0";
}

export interface JobEvent {
  entryId: string;
  type: string;
  /** One job (failed, retried, progress), or all the jobs a finish batch recorded. */
  jobIds: string[];
  /** A progress event's value (JSON). */
  value?: string;
}

/**
 * What a caller's callback (`onProgress`, `onJobProgress`) threw, carried past the catches that
 * take a failed read for an outage: the wait ends, rejected with the value thrown, instead of
 * reading again and again until its time is up (for ever with no limit) with each throw told to
 * `onError` as if Redis had failed.
 */
export class CallbackThrew {
  constructor(readonly thrown: unknown) {}
}

/** Calls a caller's callback; what it throws comes out as a CallbackThrew. */
export function callBack<A extends unknown[]>(fn: ((...args: A) => void) | undefined, ...args: A) {
  try {
    fn?.(...args);
  } catch (thrown) {
    throw new CallbackThrew(thrown);
  }
}

/** A progress event of a waited-for job, told (its value parsed) to `tell`. */
export function tellProgress(
  e: JobEvent,
  waiting: ReadonlySet<string>,
  tell: WaitOptions["onJobProgress"],
): void {
  const id = e.jobIds[0] ?? "";
  if (!tell || !waiting.has(id) || e.value === undefined) return;
  const value = json(e.value);
  // Not JSON, or nested past any payload's depth (written by hand: json keeps such text as it
  // is): no progress to tell.
  if (value === e.value) return;
  callBack(tell, id, value);
}

export async function readEvents(
  blocking: Redis,
  keys: QueueKeys,
  cursor: string,
  blockMs: number,
): Promise<JobEvent[]> {
  const reply = (await blocking.sendCommand([
    "XREAD",
    "COUNT",
    "1000",
    "BLOCK",
    String(Math.max(1, Math.round(blockMs))),
    "STREAMS",
    keys.events,
    cursor,
  ])) as [string, [string, string[]][]][] | null;
  const entries = reply?.[0]?.[1] ?? [];
  return entries.map(([entryId, fields]) => ({
    entryId,
    type: field(fields, "type") ?? "",
    jobIds: field(fields, "ids")?.split(",") ?? [field(fields, "id") ?? ""],
    value: field(fields, "value") ?? undefined,
  }));
}

/** `blockMs` as given when it is a positive number of ms, else the default (never NaN to Redis). */
export function blockLimitMs(blockMs: number | undefined): number {
  return blockMs !== undefined && Number.isFinite(blockMs) && blockMs > 0 ? blockMs : 1_000;
}
