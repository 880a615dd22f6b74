// Redis' clock. Workers, producers and operators run on hosts whose clocks disagree; every time
// that two processes compare (heartbeats, due times, history, per-minute counts, letter ages) is
// Redis' own: read by the scripts themselves (lib/engine/lua/include/clock.lua), or here, once per call.
import type { Redis } from "./connect.ts";

/** Redis' time now, ms since the epoch (one TIME). */
export async function redisNowMs(client: Redis): Promise<number> {
  const [s, us] = await client.sendCommand<[string, string]>(["TIME"]);
  return Number(s) * 1_000 + Math.floor(Number(us) / 1_000);
}
