// One pass of a scheduler (docs/internals.md, "Recurring schedules"): the due schedules read on
// Redis' clock, and for each the tick its missed policy says (lib/schedule/ticks.ts) ENQUEUED
// FIRST, with the id `sched:<name>:<tick>`, THEN the schedule advanced by compare and set.
// Exactly one job per tick, whatever runs at once: two schedulers firing one tick make one job
// (the second enqueue finds the id); a crash or a lost reply between the two steps leaves the
// tick due, and firing it again finds its job; an advance from a stale read changes nothing.

import { scheduleKeys } from "../engine/keys.ts";
import {
  advanceTick,
  backOffTick,
  DUE_QUEUES_PAGE,
  type DueSchedule,
  readDue,
} from "../engine/schedule.ts";
import { NoAnswerError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import type { TickEnqueuer } from "./enqueue.ts";
import { parseDef } from "./spec.ts";
import { LATE_MS, planTick } from "./ticks.ts";

/** Due schedules handled per pass; more are handled by the next pass, at once. */
export const PASS_MOST = 100;

/** The longest a schedule that keeps failing to fire waits between tries. */
export const BACKOFF_MAX_MS = 60_000;

export interface PassResult {
  /** Redis' time of the read. */
  now: number;
  /** Ticks whose job this pass created (a tick found enqueued already is not counted). */
  fired: number;
  /** The earliest future tick seen (null: none), for the scheduler's sleep. */
  earliest: number | null;
  /**
   * Due schedules that failed to fire (corrupt, or their enqueue failed): backed off (backoffMs),
   * so they neither stall the others nor make the loop spin.
   */
  stuck: { name: string; why: string }[];
  /** Some due schedule moved on, and its next tick may be due already: pass again now. */
  again: boolean;
  /** Queues whose schedules cannot fire: their `next` key holds another type (readDue). */
  broken: string[];
  /**
   * Some due schedule's enqueue got no answer (NoAnswerError: on a cluster, a queue's node may
   * stall while the schedules' node answers): its connection may be cut.
   */
  unanswered: boolean;
  /**
   * Every queue's scheduler: where the next pass reads `queues` from ("0": this pass ended a
   * sweep of every queue). A page whose due schedules filled the pass is read again, once.
   */
  cursor: string;
  /** The next pass reads this pass' page again (pass it on as PassOptions.readAgain). */
  readAgain: boolean;
}

export interface PassOptions {
  client: Redis;
  prefix: string;
  enqueuer: TickEnqueuer;
  /** The queues whose schedules this scheduler fires (a worker's); empty: every queue. */
  queues: readonly string[];
  /** Every queue's: the page of `queues` to read (the last pass's `cursor`; "0" to start). */
  cursor?: string;
  /** Every queue's: this pass reads again the page the last one read (its `readAgain`). */
  readAgain?: boolean;
  /** Every queue's: queues read per pass (default DUE_QUEUES_PAGE). */
  queuesPage?: number;
  lateMs?: number;
}

export async function firePass(o: PassOptions): Promise<PassResult> {
  const keys = scheduleKeys(o.prefix);
  const page = { cursor: o.cursor ?? "0", size: o.queuesPage ?? DUE_QUEUES_PAGE };
  const read = await readDue(o.client, keys, PASS_MOST, o.queues, page);
  const { now, due, earliest, broken } = read;
  // A full pass may have left due schedules in its page of queues: the next pass reads it again,
  // once, then the sweep moves on, so a page that stays full never holds back the others' (each
  // page gets at most two passes a sweep).
  const readAgain = due.length >= PASS_MOST && !o.readAgain;
  const cursor = readAgain ? page.cursor : read.cursor;
  const result: PassResult = {
    now,
    fired: 0,
    earliest,
    stuck: [],
    again: false,
    broken,
    unanswered: false,
    cursor,
    readAgain,
  };
  // Each schedule on its own: one that fails (a corrupt definition, a queue of another format)
  // never holds back the others.
  const outcomes = await Promise.allSettled(due.map((d) => fireOne(o, d, now)));
  const backoffs: Promise<unknown>[] = [];
  outcomes.forEach((out, i) => {
    const d = due[i]!;
    if (out.status === "fulfilled" && out.value !== "corrupt") {
      if (out.value === "fired") result.fired++;
      result.again = true;
      return;
    }
    const why =
      out.status === "rejected"
        ? String((out.reason as Error)?.message ?? out.reason)
        : "its definition is not one Courier wrote";
    result.stuck.push({ name: d.name, why });
    if (out.status === "rejected" && out.reason instanceof NoAnswerError) result.unanswered = true;
    // Backed off (its real tick kept): it leaves the front of the due ones, so the next pass,
    // at once, reads the schedules behind it; a back-off that fails too leaves it due.
    backoffs.push(backOffTick(o.client, keys, d, now + backoffMs(d.failures)).catch(() => false));
    result.again = true;
  });
  await Promise.all(backoffs);
  return result;
}

/** How long a schedule that failed to fire `failures` times before waits: 1 s doubling to 1 min. */
export function backoffMs(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, 1_000 * 2 ** Math.min(failures, 16));
}

type One = "fired" | "existed" | "none" | "corrupt";

async function fireOne(o: PassOptions, d: DueSchedule, now: number): Promise<One> {
  // A next tick without a definition (no script of ours leaves one: a hand edit) fires
  // nothing ever: it is dropped, by the same compare and set.
  if (d.def === null) {
    await advanceTick(o.client, scheduleKeys(o.prefix), d, null);
    return "none";
  }
  const def = parseDef(d.def);
  if (def === null) return "corrupt";
  const plan = planTick(def, d.tick, now, o.lateMs ?? LATE_MS);
  let out: One = "none";
  if (plan.fire !== null) {
    out = (await o.enqueuer.enqueue(d.name, def, plan.fire)) ? "fired" : "existed";
  }
  await advanceTick(o.client, scheduleKeys(o.prefix), d, plan.next);
  return out;
}
