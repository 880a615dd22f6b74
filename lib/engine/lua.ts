// Lua scripts, loaded once per process and called with EVALSHA. A server that does not have
// a script yet (first call, or after a restart or SCRIPT FLUSH) answers NOSCRIPT, and the
// call is made again with the script's text, which also caches it there.
import type { Redis } from "../redis/connect.ts";
import attemptsSrc from "./lua/_attempts.lua" with { type: "text" };
import clockSrc from "./lua/_clock.lua" with { type: "text" };
import wrongTypeSrc from "./lua/_wrongtype.lua" with { type: "text" };
import claimSrc from "./lua/claim-1.lua" with { type: "text" };
import discardSrc from "./lua/discard-1.lua" with { type: "text" };
import enqueueSrc from "./lua/enqueue-3.lua" with { type: "text" };
import failSrc from "./lua/fail-6.lua" with { type: "text" };
import finishSrc from "./lua/finish-5.lua" with { type: "text" };
import groupSrc from "./lua/group-1.lua" with { type: "text" };
import heartbeatSrc from "./lua/heartbeat-2.lua" with { type: "text" };
import leaseSrc from "./lua/lease-1.lua" with { type: "text" };
import metaSrc from "./lua/meta-1.lua" with { type: "text" };
import promoteSrc from "./lua/promote-2.lua" with { type: "text" };
import pruneSrc from "./lua/prune-2.lua" with { type: "text" };
import releaseSrc from "./lua/release-1.lua" with { type: "text" };
import requeueSrc from "./lua/requeue-3.lua" with { type: "text" };
import serveSrc from "./lua/serve-2.lua" with { type: "text" };
import startSrc from "./lua/start-7.lua" with { type: "text" };

export interface Script {
  name: string;
  source: string;
  sha: string;
  numKeys: number;
}

function script(name: string, source: string, numKeys: number): Script {
  const sha = new Bun.CryptoHasher("sha1").update(source).digest("hex");
  return { name, source, sha, numKeys };
}

export const scripts = {
  // _wrongtype.lua: the up-front type check of the queue-wide keys a script writes, for every
  // script that writes them. _attempts.lua: the helpers start, finish and fail share (history
  // of attempts, per-minute counts). _clock.lua: Redis' time, for every script that needs one.
  enqueue: script("enqueue", clockSrc + wrongTypeSrc + enqueueSrc, 3),
  start: script("start", clockSrc + wrongTypeSrc + attemptsSrc + startSrc, 7),
  finish: script("finish", clockSrc + wrongTypeSrc + attemptsSrc + finishSrc, 5),
  fail: script("fail", clockSrc + wrongTypeSrc + attemptsSrc + failSrc, 6),
  promote: script("promote", clockSrc + wrongTypeSrc + promoteSrc, 2),
  serve: script("serve", clockSrc + wrongTypeSrc + serveSrc, 2),
  lease: script("lease", leaseSrc, 1),
  release: script("release", releaseSrc, 1),
  // Joining the queue and staying visible: both run on a full Redis too (see the scripts).
  group: script("group", groupSrc, 1),
  heartbeat: script("heartbeat", clockSrc + heartbeatSrc, 2),
  // The queue's data format, checked once per process (lib/engine/format.ts).
  meta: script("meta", clockSrc + metaSrc, 1),
  // A worker name held by one live worker at a time (lib/worker/presence.ts).
  claim: script("claim", clockSrc + claimSrc, 1),
  // Operator actions (lib/admin): dead letters and workers that stopped heart-beating.
  requeue: script("requeue", clockSrc + wrongTypeSrc + requeueSrc, 3),
  discard: script("discard", discardSrc, 1),
  prune: script("prune", pruneSrc, 2),
} as const;

/** Runs a script; keys and args are strings (numbers are sent as their decimal text). */
export async function runScript<T = unknown>(
  client: Redis,
  s: Script,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<T> {
  if (keys.length !== s.numKeys) {
    throw new Error(`script ${s.name} takes ${s.numKeys} keys, got ${keys.length}`);
  }
  const tail = [String(keys.length), ...keys, ...args.map(String)];
  try {
    return (await client.sendCommand(["EVALSHA", s.sha, ...tail])) as T;
  } catch (err) {
    if (!String((err as Error)?.message).startsWith("NOSCRIPT")) throw err;
    return (await client.sendCommand(["EVAL", s.source, ...tail])) as T;
  }
}
