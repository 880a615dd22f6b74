// The limiter's calls under the queue's tag (docs/internals.md, "Rate limits"): owns the KEYS,
// ARGV order and replies of limit.lua (slots for a batch read) and limit-done.lua (running
// slots freed, waiting jobs woken).
import type { Redis } from "../redis/connect.ts";
import type { LimitKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** A job read, as the limiter sees it. */
export interface LimitAsk {
  jobId: string;
  /** Its limit key, if any. */
  limitKey?: string;
  /** How long its running slot may be held at most: the attempt's time limit and a margin. */
  slotMs: number;
  /**
   * This delivery's token (runToken): its running slot's member, freed by this run's end
   * only. Default: the job id (one run of the job at a time, as in tests).
   */
  run?: string;
}

/** The token of the run of entry `entryId` of `shard`, delivered for the `deliveries`-th time. */
export function runToken(shard: number, entryId: string, deliveries: number): string {
  return `${shard}|${entryId}|${deliveries}`;
}

/** What the limiter decided for one job. */
export type LimitVerdict =
  /**
   * Start `inMs` after the script ran, no later than `lateMs` after that (null: no bound);
   * `slot`: it took a running slot of its key (freed by freeSlots when it ends).
   */
  | { kind: "start"; inMs: number; lateMs: number | null; slot: boolean }
  /**
   * Give the slot away: back at `dueMs` (Redis' clock). `corrupt`: one of its limit key's own
   * keys holds another type; `problem` names it (`<key> holds a <type>, not a <type>`).
   */
  | { kind: "hold"; dueMs: number; why: "held" | "busy" | "rate" | "corrupt"; problem?: string }
  /** The queue's next slot is past the horizon: keep it and ask again in `inMs`. */
  | { kind: "later"; inMs: number };

/** Reserves start slots for `jobs` (one call), in order. `shard`: the reading shard's number. */
export async function reserveSlots(
  client: Redis,
  lk: LimitKeys,
  o: { horizonMs: number; shard: number },
  jobs: readonly LimitAsk[],
): Promise<LimitVerdict[]> {
  const args: (string | number)[] = [lk.keyPrefix, lk.runningPrefix, lk.waitingPrefix];
  args.push(o.horizonMs, o.shard, lk.rateHeldPrefix, lk.rateWakingPrefix);
  for (const j of jobs) args.push(j.jobId, j.limitKey ?? "", Math.ceil(j.slotMs), j.run ?? j.jobId);
  const keys = [lk.layout, lk.rate, lk.gaps, lk.keys];
  const reply = await runScript<string[]>(client, scripts.limit, keys, args);
  return reply.map(parseVerdict);
}

/** One reply of limit.lua (its header says the forms). */
export function parseVerdict(text: string): LimitVerdict {
  const [kind, a = "", b = "", c = ""] = String(text).split(" ");
  if (kind === "S") {
    const late = Number(b);
    const inMs = Math.max(0, Number(a));
    return { kind: "start", inMs, lateMs: late < 0 ? null : late, slot: c === "1" };
  }
  if (kind === "H" && b === "corrupt") {
    // The key's name may hold spaces: the problem is the rest of the reply, as written.
    const problem = String(text).split(" ").slice(3).join(" ");
    return { kind: "hold", dueMs: Number(a), why: b, problem };
  }
  if (kind === "H") return { kind: "hold", dueMs: Number(a), why: b as "held" | "busy" | "rate" };
  if (kind === "L") return { kind: "later", inMs: Math.max(1, Number(a)) };
  throw new Error(`limit: unexpected reply ${JSON.stringify(String(text).slice(0, 40))}`);
}

/** A run of a limit key whose running slot is free again. */
export interface LimitEnded {
  jobId: string;
  limitKey: string;
  /** The run's token, as asked (LimitAsk.run; default the job id). */
  run?: string;
}

/** Waiters of one key limit-done.lua wakes per call at most, however many slots are free. */
export const WAKE_MOST_PER_CALL = 100;

/** A job waiting for a running slot of its key: its shard, id and key (the waiting list's). */
export interface Woken {
  shard: number;
  jobId: string;
  limitKey: string;
}

/**
 * What limit-done.lua says it settled on its own, by its reply's marker (never by the text: a
 * key or a member may hold any words): `unreadable`, a limit key skipped because one of its own
 * keys holds another type (`<key> holds a <type>, not a <type>`); `dropped`, a waiting list's
 * members that named no job (`<list>: <n> members naming no job of the queue dropped, …`).
 */
export type LimitProblemKind = "unreadable" | "dropped";

/** limit-done.lua's markers of a problem pair, by kind. */
const PROBLEM_MARKERS: ReadonlyMap<string, LimitProblemKind> = new Map([
  ["!unreadable", "unreadable"],
  ["!dropped", "dropped"],
]);

/**
 * Frees the running slots of `ended` and drops the waiters of `gone` (ended or canceled: one
 * call), and names the waiting jobs woken, in order, one per slot now free: the caller moves
 * each to its stream (wakeJobs, lib/engine/hold.ts) and hands back those it could not move.
 * `unreadable` hears each problem the call settled on its own, with its kind
 * (LimitProblemKind); the other keys' slots are freed all the same.
 * `keys`: limit keys whose waiters are woken to the slots free now (a key concurrency raised),
 * less those woken and not started yet (an earlier call's: their slots are as good as taken);
 * at most WAKE_MOST_PER_CALL of a key per call.
 * `again`: limit keys of a free tried again after a failure: their waiters marked woken whose
 * wake may never have been made are named again first (limit-done.lua).
 */
export async function freeSlots(
  client: Redis,
  lk: LimitKeys,
  ended: readonly LimitEnded[],
  gone: readonly Woken[] = [],
  unreadable: (problem: string, kind: LimitProblemKind) => void = () => {},
  keys: readonly string[] = [],
  again: readonly string[] = [],
): Promise<Woken[]> {
  const args = [lk.runningPrefix, lk.waitingPrefix, lk.keyPrefix, String(ended.length)];
  args.push(lk.rateHeldPrefix, lk.rateWakingPrefix);
  for (const e of ended) args.push(e.run ?? e.jobId, e.limitKey, e.jobId);
  for (const g of gone) args.push(`${g.shard}|${g.jobId}`, g.limitKey);
  for (const key of keys) args.push("", key);
  for (const key of again) args.push("?", key);
  const reply = await runScript<string[]>(client, scripts.limitDone, [lk.layout, lk.keys], args);
  const woken: Woken[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const m = String(reply[i]);
    const kind = PROBLEM_MARKERS.get(m);
    if (kind) {
      unreadable(String(reply[i + 1]), kind);
      continue;
    }
    const bar = m.indexOf("|");
    const shard = Number(m.slice(0, bar));
    if (bar > 0 && Number.isInteger(shard)) {
      woken.push({ shard, jobId: m.slice(bar + 1), limitKey: String(reply[i + 1]) });
    }
  }
  return woken;
}
