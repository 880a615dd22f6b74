// Fetching work: read new entries (XREADGROUP), take over lapsed ones (XAUTOCLAIM), and mark
// a batch started in one script call that also sets aside entries that cannot run.

import type { WorkerOptions } from "../config.ts";
import {
  type Delivery,
  type Started,
  type StartMode,
  startEntries,
} from "../engine/calls/start.ts";
import { createGroup } from "../engine/calls/worker.ts";
import { GROUP, type QueueKeys } from "../engine/keys.ts";
import { field } from "../queue/read.ts";
import type { Redis } from "../redis/connect.ts";

// The start script's types, where the worker's modules have always found them.
export type { Delivery, SetAside, Startable, Started } from "../engine/calls/start.ts";

type RawEntry = [string, string[] | null];

/**
 * Creates the consumer group if it is missing, reading from the start of the stream (jobs may
 * predate it). Works on a full Redis too (lib/engine/lua/group-1.lua).
 */
export async function ensureGroup(client: Redis, keys: QueueKeys): Promise<void> {
  await createGroup(client, keys);
}

/** Blocking read of up to `count` new entries for this consumer. */
export async function readNew(
  reader: Redis,
  keys: QueueKeys,
  consumer: string,
  count: number,
  blockMs: number,
): Promise<Delivery[]> {
  const block = ["BLOCK", String(blockMs)];
  const reply = await reader.sendCommand<[string, RawEntry[]][] | null>([
    ...["XREADGROUP", "GROUP", GROUP, consumer, "COUNT", String(count), ...block],
    ...["STREAMS", keys.stream, ">"],
  ]);
  return toDeliveries(reply?.[0]?.[1] ?? []);
}

/**
 * Entries already delivered to this consumer, after `after` (non-blocking). A read whose reply
 * was lost (Redis restarted, the connection dropped) leaves entries pending on a consumer that
 * never saw them; reading its own pending list finds them at once, not after claimIdleMs.
 */
export async function readOwnPending(
  client: Redis,
  keys: QueueKeys,
  consumer: string,
  count: number,
  after: string,
): Promise<Delivery[]> {
  const reply = await client.sendCommand<[string, RawEntry[]][] | null>([
    ...["XREADGROUP", "GROUP", GROUP, consumer, "COUNT", String(count)],
    ...["STREAMS", keys.stream, after],
  ]);
  return toDeliveries(reply?.[0]?.[1] ?? []);
}

/**
 * Claims up to `count` entries idle for claimIdleMs. Returns the next cursor ('0-0' when the
 * scan is complete) and the deliveries. Entries deleted from the stream come back with no
 * fields (Redis 6.2) or in a list of their own (7.0+, already dropped from the pending list);
 * the former become deliveries with no job id, which the start script acknowledges.
 */
export async function claimIdle(
  client: Redis,
  keys: QueueKeys,
  consumer: string,
  o: Pick<WorkerOptions, "claimIdleMs">,
  cursor: string,
  count: number,
): Promise<{ cursor: string; claimed: Delivery[]; deleted: string[] }> {
  const reply = await client.sendCommand<[string, RawEntry[], string[]?]>([
    "XAUTOCLAIM",
    keys.stream,
    GROUP,
    consumer,
    String(o.claimIdleMs),
    cursor,
    "COUNT",
    String(count),
  ]);
  return { cursor: reply[0], claimed: toDeliveries(reply[1]), deleted: reply[2] ?? [] };
}

function toDeliveries(entries: RawEntry[]): Delivery[] {
  return entries.map(([entryId, fields]) => ({ entryId, jobId: field(fields, "id") ?? "" }));
}

/** Marks deliveries started; splits them into jobs to run and entries already settled. */
export function startBatch(
  client: Redis,
  w: StartContext,
  deliveries: readonly Delivery[],
  kind: "read" | "claim",
): Promise<Started> {
  return callStart(client, w, { kind, deliveries });
}

/**
 * Reads up to `count` new entries and starts them in the same script call (not blocking: an
 * empty queue gives nothing, and the caller falls back to a blocking read). Under load this
 * takes one round trip per batch instead of two.
 */
export function takeBatch(client: Redis, w: StartContext, count: number): Promise<Started> {
  return callStart(client, w, { take: count });
}

/** Who starts: the queue's keys, this worker's name, options and the tasks it has. */
export interface StartContext {
  keys: QueueKeys;
  o: WorkerOptions;
  tasks: readonly string[];
  /** This worker process's boot id: what tells its own re-sent start from a predecessor's. */
  boot: string;
}

function callStart(client: Redis, w: StartContext, mode: StartMode): Promise<Started> {
  const { keys, o, tasks, boot } = w;
  const starter = { consumer: o.name, failureTtlS: o.failureTtlS, boot, tasks };
  const limits = { deadMaxLen: o.deadMaxLen, eventsMaxLen: o.eventsMaxLen };
  return startEntries(client, keys, { ...starter, ...limits }, mode);
}

/** Why the start script set aside an entry without running it, for the worker's log. */
export const SET_ASIDE_WHY = {
  bad: "entry has no job id; acknowledged and deleted",
  missing: "job record is gone (expired or deleted); entry acknowledged",
  done: "job already ended; duplicate delivery acknowledged",
  dead: "attempts used up by workers that stopped; dead-lettered",
  taken: "claimed entry ended meanwhile by the worker it was taken from; not started",
  corrupt: "corrupt record: dead-lettered",
  unreadable: "corrupt record: entry acknowledged",
  deferred: "not a task of this worker; left for a worker that has it",
  parked: "no live worker has this task; the job waits for one",
} as const;
