// The lease script (lib/engine/lua/lease.lua): a worker renewing the leases of its running jobs.
// This file owns its KEYS and ARGV order.
import type { Redis } from "../redis/connect.ts";
import { GROUP, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** Renews the leases of `entryIds` this consumer still owns (lease.lua); returns those lost. */
export function renewLeases(
  client: Redis,
  keys: QueueKeys,
  consumer: string,
  entryIds: readonly string[],
): Promise<string[]> {
  const args = [GROUP, consumer, keys.resultPrefix, keys.idSuffix, ...entryIds];
  return runScript<string[]>(client, scripts.lease, [keys.stream], args);
}
