// Lua scripts, loaded once per process and called with EVALSHA. A server that does not have
// a script yet (first call, or after a restart or SCRIPT FLUSH) answers NOSCRIPT, and the
// call is made again with the script's text, which also caches it there.
// A script names the helpers it uses with `--- @include <name>` (lib/engine/lua/include/), which
// the loader pastes in (lua-includes.ts); an error reply is pointed back at the file and line.
import type { Redis } from "../redis/connect.ts";
import claimSrc from "./lua/claim-1.lua" with { type: "text" };
import groupSrc from "./lua/group-1.lua" with { type: "text" };
import heartbeatSrc from "./lua/heartbeat-2.lua" with { type: "text" };
import leaseSrc from "./lua/lease-1.lua" with { type: "text" };
import metaSrc from "./lua/meta-1.lua" with { type: "text" };
import pruneSrc from "./lua/prune-2.lua" with { type: "text" };
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

/**
 * A script from its text (`file` names it in error replies: lib/engine/lua/<name>-<numKeys>.lua
 * unless told). Its includes are expanded here: an unknown one throws when the module loads.
 */
export function script(
  name: string,
  text: string,
  numKeys: number,
  file = `${name}-${numKeys}.lua`,
): Script {
  const { text: source, lines } = expandIncludes(file, text);
  const sha = new Bun.CryptoHasher("sha1").update(source).digest("hex");
  return { name, source, sha, numKeys, lines };
}

export const scripts = {
  lease: script("lease", leaseSrc, 1),
  // Joining the queue and staying visible: both run on a full Redis too (see the scripts).
  group: script("group", groupSrc, 1),
  heartbeat: script("heartbeat", heartbeatSrc, 2),
  // The queue's data format, checked once per process (lib/engine/format.ts).
  meta: script("meta", metaSrc, 1),
  // A worker name held by one live worker at a time (lib/worker/presence.ts).
  claim: script("claim", claimSrc, 1),
  // Operator actions (lib/admin): dead letters and workers that stopped heart-beating.
  prune: script("prune", pruneSrc, 2),
} as const;

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
  if (keys.length !== s.numKeys) {
    throw new Error(`script ${s.name} takes ${s.numKeys} keys, got ${keys.length}`);
  }
  const tail = [String(keys.length), ...keys, ...args.map(String)];
  try {
    try {
      return (await client.sendCommand(["EVALSHA", s.sha, ...tail])) as T;
    } catch (err) {
      if (!String((err as Error)?.message).startsWith("NOSCRIPT")) throw err;
      return (await client.sendCommand(["EVAL", s.source, ...tail])) as T;
    }
  } catch (err) {
    // The same error (class, code, cause), so callers that match NOPERM, OOM, WRONGTYPE or
    // `ERR courier:` by its start still do; only the source line is added at its end.
    if (err instanceof Error) err.message = mapLines(err.message, s.lines);
    throw err;
  }
}
