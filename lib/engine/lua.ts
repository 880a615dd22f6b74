// Lua scripts, loaded once per process and called with EVALSHA. A server that does not have
// a script yet (first call, or after a restart or SCRIPT FLUSH) answers NOSCRIPT, and the
// call is made again with the script's text, which also caches it there.
// A script names the helpers it uses with `--- @include <name>` (lib/engine/lua/include/), which
// the loader pastes in (lua-includes.ts); an error reply is pointed back at the file and line.
import type { Redis } from "../redis/connect.ts";
import buryLua from "./lua/bury.lua" with { type: "text" };
import cancelLua from "./lua/cancel.lua" with { type: "text" };
import childLua from "./lua/child.lua" with { type: "text" };
import claimLua from "./lua/claim.lua" with { type: "text" };
import dependLua from "./lua/depend.lua" with { type: "text" };
import discardLua from "./lua/discard.lua" with { type: "text" };
import emptyLua from "./lua/empty.lua" with { type: "text" };
import endedLua from "./lua/ended.lua" with { type: "text" };
import enqueueLua from "./lua/enqueue.lua" with { type: "text" };
import enqueueOneLua from "./lua/enqueue-one.lua" with { type: "text" };
import failLua from "./lua/fail.lua" with { type: "text" };
import finishLua from "./lua/finish.lua" with { type: "text" };
import giveBackLua from "./lua/give-back.lua" with { type: "text" };
import groupLua from "./lua/group.lua" with { type: "text" };
import handoverLua from "./lua/handover.lua" with { type: "text" };
import heartbeatLua from "./lua/heartbeat.lua" with { type: "text" };
import heldPageLua from "./lua/held-page.lua" with { type: "text" };
import holdLua from "./lua/hold.lua" with { type: "text" };
import holdKeyLua from "./lua/hold-key.lua" with { type: "text" };
import layoutLua from "./lua/layout.lua" with { type: "text" };
import leaseLua from "./lua/lease.lua" with { type: "text" };
import leaveLua from "./lua/leave.lua" with { type: "text" };
import limitLua from "./lua/limit.lua" with { type: "text" };
import limitDoneLua from "./lua/limit-done.lua" with { type: "text" };
import metaLua from "./lua/meta.lua" with { type: "text" };
import nameLua from "./lua/name.lua" with { type: "text" };
import parentEndedLua from "./lua/parent-ended.lua" with { type: "text" };
import progressLua from "./lua/progress.lua" with { type: "text" };
import promoteLua from "./lua/promote.lua" with { type: "text" };
import pruneLua from "./lua/prune.lua" with { type: "text" };
import rateHeldLua from "./lua/rate-held.lua" with { type: "text" };
import releaseLua from "./lua/release.lua" with { type: "text" };
import requeueLua from "./lua/requeue.lua" with { type: "text" };
import scheduleAdvanceLua from "./lua/schedule-advance.lua" with { type: "text" };
import scheduleBriefLua from "./lua/schedule-brief.lua" with { type: "text" };
import scheduleDueLua from "./lua/schedule-due.lua" with { type: "text" };
import scheduleIndexLua from "./lua/schedule-index.lua" with { type: "text" };
import scheduleSaveLua from "./lua/schedule-save.lua" with { type: "text" };
import serveLua from "./lua/serve.lua" with { type: "text" };
import statusLua from "./lua/status.lua" with { type: "text" };
import streamPageLua from "./lua/stream-page.lua" with { type: "text" };
import wakeLua from "./lua/wake.lua" with { type: "text" };
import { expandIncludes, mapLines, type SourceLine } from "./lua-includes.ts";

export interface Script {
  name: string;
  /** The text sent to Redis: the script with its includes pasted in. */
  source: string;
  sha: string;
  numKeys: number;
  /** Where each line of `source` came from, for error replies. */
  lines: SourceLine[];
}

/** An object of `defs`' names whose values are made on first read, then kept. */
function lazily<T extends Record<string, () => Script>>(
  defs: T,
): { readonly [K in keyof T]: Script } {
  const out = {} as { [K in keyof T]: Script };
  for (const [name, make] of Object.entries(defs)) {
    Object.defineProperty(out, name, {
      enumerable: true,
      configurable: true,
      get() {
        const value = make();
        Object.defineProperty(out, name, { value, enumerable: true });
        return value;
      },
    });
  }
  return out;
}

/**
 * A script from its text (`file` names it in error replies: lib/engine/lua/<name>.lua unless
 * told). Its includes are expanded here: an unknown one throws at the script's first use
 * (tests/engine.lua.test.ts expands every script).
 */
export function script(name: string, text: string, numKeys: number, file = `${name}.lua`): Script {
  const { text: source, lines } = expandIncludes(file, text);
  const sha = new Bun.CryptoHasher("sha1").update(source).digest("hex");
  return { name, source, sha, numKeys, lines };
}

/**
 * Every script by name, each expanded and hashed when first used: a process runs a few of them
 * (`trigger` one), and expanding all 34 at start cost it about 10 ms.
 */
export const scripts = lazily({
  // Each is called by one typed function in lib/engine/<name>.ts (discard's is in requeue.ts),
  // which owns its KEYS and ARGV order. The common path first: enqueue, finish.
  enqueue: () => script("enqueue", enqueueLua, 6),
  enqueueOne: () => script("enqueue-one", enqueueOneLua, 3),
  finish: () => script("finish", finishLua, 8),
  // Failed attempts (retry or dead letter), and retries and delayed jobs brought back when due.
  fail: () => script("fail", failLua, 8),
  promote: () => script("promote", promoteLua, 2),
  // Entries taken without a plain read: lapsed leases of other workers, own entries read again.
  claim: () => script("claim", claimLua, 8),
  // A restarted worker's predecessor consumer (`<name>~gone`) forgotten once empty.
  handover: () => script("handover", handoverLua, 1),
  // Entries a worker cannot run: corrupt (buried), a task it lacks (left; parked jobs taken
  // back when a worker serves the task), or held when it stops (released).
  bury: () => script("bury", buryLua, 7),
  leave: () => script("leave", leaveLua, 3),
  serve: () => script("serve", serveLua, 2),
  release: () => script("release", releaseLua, 3),
  // A prefetched entry held past prefetchWaitMs goes back to the queue unstarted.
  giveBack: () => script("giveBack", giveBackLua, 2, "give-back.lua"),
  // Where each job is now (read only).
  status: () => script("status", statusLua, 6),
  // A page of a stream bounded in bytes, only the fields asked for (lib/engine/stream-page.ts).
  streamPage: () => script("streamPage", streamPageLua, 1, "stream-page.lua"),
  // A running job's progress and its event (lib/worker/progress.ts coalesces the calls).
  progress: () => script("progress", progressLua, 3),
  // A running job's lease kept: its entry's idle time reset.
  lease: () => script("lease", leaseLua, 1),
  // Joining the queue and staying visible: both run on a full Redis too (see the scripts).
  group: () => script("group", groupLua, 1),
  heartbeat: () => script("heartbeat", heartbeatLua, 2),
  // The queue's data format, checked once per process (lib/engine/format.ts), and its shard
  // count, recorded by the first producer or worker (lib/engine/layout.ts).
  meta: () => script("meta", metaLua, 1),
  layout: () => script("layout", layoutLua, 1),
  // A worker name held by one live worker at a time (lib/worker/presence.ts).
  name: () => script("name", nameLua, 1),
  // Operator actions (lib/admin): dead letters requeued or discarded, gone workers pruned.
  requeue: () => script("requeue", requeueLua, 5),
  discard: () => script("discard", discardLua, 1),
  empty: () => script("empty", emptyLua, 6),
  prune: () => script("prune", pruneLua, 2),
  // Jobs canceled wherever they are (lib/engine/cancel.ts, from Queue.cancel and Admin.cancel).
  cancel: () => script("cancel", cancelLua, 16),
  // Dependencies (docs/internals.md, "Dependencies and batches"): a child written waiting, its
  // parents told of it, ended parents drained, children told (lib/queue/depends.ts,
  // lib/worker/flows.ts).
  child: () => script("child", childLua, 4),
  depend: () => script("depend", dependLua, 3),
  ended: () => script("ended", endedLua, 4),
  parentEnded: () => script("parent-ended", parentEndedLua, 11),
  // Recurring schedules (lib/engine/schedule.ts): the due ones read on Redis' clock, a fired
  // tick advanced by compare and set, a definition written with its next tick.
  scheduleDue: () => script("schedule-due", scheduleDueLua, 3),
  scheduleAdvance: () => script("schedule-advance", scheduleAdvanceLua, 3),
  scheduleSave: () => script("schedule-save", scheduleSaveLua, 4),
  // The per-queue `names` index built a page at a time for schedules saved before it.
  scheduleIndex: () => script("schedule-index", scheduleIndexLua, 2),
  // Definitions without their payloads, for the lists that never show one.
  scheduleBrief: () => script("schedule-brief", scheduleBriefLua, 1),
  // Rate limits (docs/internals.md, "Rate limits"): the limiter under the queue's tag (slots
  // reserved for a batch read, running slots freed, a key held), and per shard a job given its
  // slot away (hold) and a waiting job woken.
  limit: () => script("limit", limitLua, 4),
  limitDone: () => script("limitDone", limitDoneLua, 2, "limit-done.lua"),
  holdKey: () => script("holdKey", holdKeyLua, 3, "hold-key.lua"),
  rateHeld: () => script("rateHeld", rateHeldLua, 2, "rate-held.lua"),
  heldPage: () => script("heldPage", heldPageLua, 1, "held-page.lua"),
  hold: () => script("hold", holdLua, 2),
  wake: () => script("wake", wakeLua, 6),
});

/**
 * Runs a script; keys and args are strings (numbers are sent as their decimal text). An error
 * reply is thrown as it came, its message naming the script file and line it points at.
 */
export async function runScript<T = unknown>(
  client: Redis,
  s: Script,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<T> {
  const { command, at } = scriptCommand(s, keys, args.length);
  let i = at;
  for (const a of args) command[i++] = typeof a === "string" ? a : String(a);
  return sendScript<T>(client, s, command);
}

/**
 * The command that runs `s` on `keys`, built once at its full length (a finish of 128 jobs has
 * 650 arguments, a bulk enqueue's batch of 500 jobs 3,500: growing it, or building the
 * arguments first and copying them, showed in its profile), with `argc` arguments to be
 * written from `at` on; sendScript sends it.
 */
export function scriptCommand(
  s: Script,
  keys: readonly string[],
  argc: number,
): { command: string[]; at: number } {
  if (keys.length !== s.numKeys) {
    throw new Error(`script ${s.name} takes ${s.numKeys} keys, got ${keys.length}`);
  }
  const command = new Array<string>(3 + keys.length + argc);
  command[0] = "EVALSHA";
  command[1] = s.sha;
  command[2] = String(keys.length);
  let at = 3;
  for (const k of keys) command[at++] = k;
  return { command, at };
}

/** Sends a scriptCommand (EVAL in its place when Redis has not the script yet). */
export async function sendScript<T = unknown>(
  client: Redis,
  s: Script,
  command: string[],
): Promise<T> {
  try {
    try {
      return (await client.sendCommand(command)) as T;
    } catch (err) {
      if (!String((err as Error)?.message).startsWith("NOSCRIPT")) throw err;
      command[0] = "EVAL";
      command[1] = s.source;
      return (await client.sendCommand(command)) as T;
    }
  } catch (err) {
    // The same error (class, code, cause), so callers that match NOPERM, OOM, WRONGTYPE or
    // `ERR courier:` by its start still do; only the source line is added at its end.
    if (err instanceof Error) err.message = mapLines(err.message, s.lines);
    throw err;
  }
}
