// The start script (lib/engine/lua/start-7.lua): marks a batch of delivered entries started and
// says, per entry, what to run and what it set aside without running. This file owns the
// script's KEYS and ARGV order and the reading of its flat reply.
import type { Redis } from "../../redis/connect.ts";
import { GROUP, type QueueKeys } from "../keys.ts";
import { runScript, scripts } from "../lua.ts";

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
  runNo: number;
}

/** An entry the start script set aside without running it, and why. */
export interface SetAside extends Delivery {
  verdict: "bad" | "missing" | "done" | "dead" | "taken" | Detailed;
  /** What is wrong with a corrupt or unreadable record. */
  problem?: string;
  /** The task of a job left for another worker (deferred) or for one to start (parked). */
  task?: string;
}

/** Verdicts the start script follows with one more element (see parseStarts). */
type Detailed = "corrupt" | "unreadable" | "deferred" | "parked";
const DETAILED = new Set<unknown>(["corrupt", "unreadable", "deferred", "parked"]);

/** What a start call gave: jobs to run, and entries it set aside without running them. */
export interface Started {
  toRun: Startable[];
  setAside: SetAside[];
}

/** Who starts, and the limits of what a start writes. */
export interface Starter {
  /** The consumer (worker name) the entries are delivered to. */
  consumer: string;
  /** TTL of a record dead-lettered here (seconds). */
  failureTtlS: number;
  deadMaxLen: number;
  eventsMaxLen: number;
  /** This worker process's boot id: what tells its own re-sent start from a predecessor's. */
  boot: string;
  /** The tasks this worker has. */
  tasks: readonly string[];
}

/** Entries delivered already (read or claimed), or `take`: the script reads up to n itself. */
export type StartMode =
  | { kind: "read" | "claim"; deliveries: readonly Delivery[] }
  | { take: number };

/** Runs the start script over `mode`'s entries. */
export async function startEntries(
  client: Redis,
  keys: QueueKeys,
  s: Starter,
  mode: StartMode,
): Promise<Started> {
  const args: (string | number)[] = [keys.jobPrefix, GROUP, s.consumer, s.failureTtlS];
  args.push(s.deadMaxLen, s.eventsMaxLen, keys.parkedPrefix, s.boot);
  args.push(s.tasks.length, ...s.tasks);
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
  const toRun: Startable[] = [];
  const setAside: SetAside[] = [];
  let i = 0;
  while (i + 2 < reply.length) {
    const entryId = String(reply[i]);
    const jobId = String(reply[i + 1]);
    const verdict = reply[i + 2];
    if (typeof verdict === "number") {
      toRun.push({
        entryId,
        jobId,
        runNo: verdict,
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
      setAside.push({ entryId, jobId, verdict: v, ...more });
      i += 4;
    } else {
      setAside.push({ entryId, jobId, verdict: verdict as SetAside["verdict"] });
      i += 3;
    }
  }
  return { toRun, setAside };
}
