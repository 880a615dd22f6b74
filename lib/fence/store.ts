// A fenced store in Redis (README, "Fenced runs"): the pattern in one call. A task passes its
// run's fence (ctx.fence) with each write; the store keeps the highest fence per key and
// refuses a lower one, so a run that stalled past its lease cannot overwrite what the run that
// took the job over wrote. Owns fenced-set.lua's KEYS/ARGV order and its reply.
import { runScript, script } from "../engine/lua.ts";
import type { Redis } from "../redis/connect.ts";
import { isFence } from "./fence.ts";
import fencedSetLua from "./fenced-set.lua" with { type: "text" };

const fencedSetScript = script("fenced-set", fencedSetLua, 1, "lib/fence/fenced-set.lua");

/**
 * A client that sends raw commands as `sendCommand(args)`: a node-redis client of one server
 * (`createClient`), or Courier's own (lib/redis/connect.ts, which routes by key). Not a node-redis cluster client
 * (`createCluster`), whose `sendCommand` takes `(firstKey, isReadonly, args)`: use the client of
 * the node that holds the key.
 */
export interface CommandClient {
  sendCommand(args: string[]): Promise<unknown>;
}

/**
 * Stores `value` under `key` (a hash: `fence`, `value`) unless a run with a higher fence has
 * written there: true when written, false when refused (this run is not the job's latest: it
 * should stop, its work is someone else's now). The same run may write again (an equal fence
 * is taken). Throws a TypeError when `fence` is not one (`isFence`), before any call.
 */
export async function fencedSet(
  client: CommandClient,
  key: string,
  fence: string,
  value: string,
): Promise<boolean> {
  if (!isFence(fence))
    throw new TypeError(`not a fence: ${JSON.stringify(String(fence).slice(0, 80))}`);
  const reply = await runScript(client as unknown as Redis, fencedSetScript, [key], [fence, value]);
  return reply === 1;
}
