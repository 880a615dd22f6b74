// The v1-format scripts a worker still runs (engine v2's are in lib/engine/v2/): joining the
// queue, its name and heartbeat, and leases.
// Each function owns its script's KEYS and ARGV order and reads its reply.
import type { Redis } from "../../redis/connect.ts";
import { GROUP, type QueueKeys } from "../keys.ts";
import { runScript, scripts } from "../lua.ts";

/** Creates the consumer group (and the stream) if missing (group-1.lua); true if created. */
export async function createGroup(client: Redis, keys: QueueKeys): Promise<boolean> {
  return Number(await runScript(client, scripts.group, [keys.stream], [GROUP])) === 1;
}

/** Who holds a worker name. */
export interface NameHolder {
  host: string | null;
  pid: string | null;
  /** Its last heartbeat (ms), as written. */
  seenAt: string | null;
}

/**
 * Takes the worker hash `key` unless a live worker holds it (claim-1.lua): null when the name
 * is now ours, else who holds it.
 */
export async function holdName(
  client: Redis,
  key: string,
  n: { host: string; pid: number; now: number; ttlMs: number },
): Promise<NameHolder | null> {
  const args = [n.host, n.pid, n.now, n.ttlMs];
  const held = await runScript<(string | null)[]>(client, scripts.claim, [key], args);
  if (held.length === 0) return null;
  return { host: held[0] ?? null, pid: held[1] ?? null, seenAt: held[2] ?? null };
}

/** A heartbeat (heartbeat-2.lua): the worker's score and its hash of `fields`, kept `ttlMs`. */
export async function beat(
  client: Redis,
  keys: QueueKeys,
  b: { name: string; now: number; ttlMs: number; fields: Record<string, string | number> },
): Promise<void> {
  const args = [b.now, b.name, b.ttlMs, ...Object.entries(b.fields).flat()];
  await runScript(client, scripts.heartbeat, [keys.workers, keys.worker(b.name)], args);
}

/** Renews the leases of `entryIds` this consumer still owns (lease-1.lua); returns those lost. */
export function renewLeases(
  client: Redis,
  keys: QueueKeys,
  consumer: string,
  entryIds: readonly string[],
): Promise<string[]> {
  return runScript<string[]>(client, scripts.lease, [keys.stream], [GROUP, consumer, ...entryIds]);
}
