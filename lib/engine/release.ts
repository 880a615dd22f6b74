// Release at stop (docs/internals.md, "8. Shutdown"): owns release.lua's KEYS/ARGV order and reply.
import type { Redis } from "../redis/connect.ts";
import { GROUP, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/**
 * Gives back every entry pending on `consumer` as a fresh entry (the unfinished run not
 * counted as an attempt), then leaves the group. Returns how many jobs were re-added.
 */
export async function releaseAll(
  client: Redis,
  k: QueueKeys,
  consumer: string,
  most = 1000,
): Promise<number> {
  const args = [k.recordPrefix, k.resultPrefix, GROUP, consumer, most, k.idSuffix];
  let released = 0;
  for (;;) {
    const [n, handled] = await runScript<[number, number]>(
      client,
      scripts.release,
      [k.stream],
      args,
    );
    released += n;
    if (handled < most) return released;
  }
}
