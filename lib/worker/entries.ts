// Fetching work: read new entries (XREADGROUP), take over lapsed ones (XAUTOCLAIM), and mark
// a batch started in one script call that also settles entries that cannot run.

import type { WorkerOptions } from "../config.ts";
import { GROUP, type QueueKeys } from "../engine/keys.ts";
import { runScript, scripts } from "../engine/lua.ts";
import { field } from "../queue/read.ts";
import type { Redis } from "../redis/connect.ts";

/** A delivered stream entry: its id and the job id it carries ('' when it has none). */
export interface Delivery {
  entryId: string;
  jobId: string;
}

/** A job the start script said to run. */
export interface Startable extends Delivery {
  task: string;
  payload: string;
  attempt: number;
  maxAttempts: number;
  /** This start's number in the job's history (never reset, unlike `attempt`). */
  run: number;
}

/** An entry the start script settled without running it, and why. */
export interface Settled extends Delivery {
  verdict: "bad" | "missing" | "done" | "dead" | "taken" | Detailed;
  /** What is wrong with a corrupt or unreadable record. */
  problem?: string;
  /** The task of a job left for another worker (deferred) or for one to start (parked). */
  task?: string;
}

/** Verdicts the start script follows with one more element (see parseStarts). */
type Detailed = "corrupt" | "unreadable" | "deferred" | "parked";
const DETAILED = new Set<unknown>(["corrupt", "unreadable", "deferred", "parked"]);

type RawEntry = [string, string[] | null];

/**
 * Creates the consumer group if it is missing, reading from the start of the stream (jobs may
 * predate it). Works on a full Redis too (lib/engine/lua/group-1.lua).
 */
export async function ensureGroup(client: Redis, keys: QueueKeys): Promise<void> {
  await runScript(client, scripts.group, [keys.stream], [GROUP]);
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

/** What a start call gave: jobs to run, and entries it settled without running them. */
export interface Started {
  run: Startable[];
  settled: Settled[];
}

type StartMode = { kind: "read" | "claim"; deliveries: readonly Delivery[] } | { take: number };

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

async function callStart(client: Redis, w: StartContext, mode: StartMode): Promise<Started> {
  const { keys, o, tasks } = w;
  const args: (string | number)[] = [keys.jobPrefix, GROUP, o.name, o.failureTtlS];
  args.push(o.deadMaxLen, o.eventsMaxLen, keys.parkedPrefix, w.boot);
  args.push(tasks.length, ...tasks);
  if ("take" in mode) args.push("take", mode.take);
  else {
    args.push(mode.kind);
    for (const d of mode.deliveries) args.push(d.entryId, d.jobId);
  }
  const sKeys = [keys.stream, keys.dead, keys.events, keys.stats, keys.minutes, keys.tasks];
  sKeys.push(keys.delayed);
  return parseStarts(await runScript<(string | number)[]>(client, scripts.start, sKeys, args));
}

/**
 * The start script's flat reply: per entry, entry id, job id, then the run number followed by
 * attempt, max attempts, task and payload, or a verdict, followed by what is wrong for a
 * corrupt or unreadable record (see lib/engine/lua/start-7.lua).
 */
export function parseStarts(reply: readonly (string | number)[]): Started {
  const run: Startable[] = [];
  const settled: Settled[] = [];
  let i = 0;
  while (i + 2 < reply.length) {
    const entryId = String(reply[i]);
    const jobId = String(reply[i + 1]);
    const verdict = reply[i + 2];
    if (typeof verdict === "number") {
      run.push({
        entryId,
        jobId,
        run: verdict,
        attempt: Number(reply[i + 3]),
        maxAttempts: Number(reply[i + 4]),
        task: String(reply[i + 5]),
        payload: String(reply[i + 6]),
      });
      i += 7;
    } else if (DETAILED.has(verdict)) {
      const v = verdict as Detailed;
      const detail = String(reply[i + 3]);
      const more = v === "deferred" || v === "parked" ? { task: detail } : { problem: detail };
      settled.push({ entryId, jobId, verdict: v, ...more });
      i += 4;
    } else {
      settled.push({ entryId, jobId, verdict: verdict as Settled["verdict"] });
      i += 3;
    }
  }
  return { run, settled };
}

/** Why the start script settled an entry without running it, for the worker's log. */
export const SETTLED_WHY = {
  bad: "entry has no job id; acknowledged and deleted",
  missing: "job record is gone (expired or deleted); entry acknowledged",
  done: "job already ended; duplicate delivery acknowledged",
  dead: "attempts used up by workers that stopped; dead-lettered",
  taken: "claimed entry settled meanwhile by the worker it was taken from; not started",
  corrupt: "corrupt record: dead-lettered",
  unreadable: "corrupt record: entry acknowledged",
  deferred: "not a task of this worker; left for a worker that has it",
  parked: "no live worker has this task; the job waits for one",
} as const;
