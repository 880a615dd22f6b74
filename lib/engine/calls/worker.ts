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
  /** How long ago its last heartbeat was (ms, on Redis' clock), null when unknown. */
  agoMs: number | null;
}

/**
 * Takes the worker hash `key` unless a live worker holds it (claim-1.lua): null when the name
 * is now ours, else who holds it.
 */
export async function holdName(
  client: Redis,
  key: string,
  n: { host: string; pid: number; ttlMs: number },
): Promise<NameHolder | null> {
  const args = [n.host, n.pid, n.ttlMs];
  const held = await runScript<(string | number | null)[]>(client, scripts.claim, [key], args);
  if (held.length === 0) return null;
  const [host, pid, ago] = held;
  return {
    host: host == null ? null : String(host),
    pid: pid == null ? null : String(pid),
    agoMs: typeof ago === "number" ? ago : null,
  };
}

/**
 * A heartbeat (heartbeat-2.lua): the worker's score and its hash of `fields`, kept `ttlMs`;
 * the beat's time (score, `seen_at`) is Redis'.
 */
export async function beat(
  client: Redis,
  keys: QueueKeys,
  b: { name: string; ttlMs: number; fields: Record<string, string | number> },
): Promise<void> {
  const args = [b.name, b.ttlMs, ...Object.entries(b.fields).flat()];
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
