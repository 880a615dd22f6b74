// The name script (lib/engine/lua/name.lua): a worker name held by one live worker at a time
// (lib/worker/presence.ts). This file owns its KEYS and ARGV order and reads its reply.
import type { Redis } from "../redis/connect.ts";
import { runScript, scripts } from "./lua.ts";

/** Who holds a worker name. */
export interface NameHolder {
  host: string | null;
  pid: string | null;
  /** How long ago its last heartbeat was (ms, on Redis' clock), null when unknown. */
  agoMs: number | null;
  /** Its heartbeat interval (ms), null when its hash has none. */
  beatMs: number | null;
  /** Its process's pid namespace (`pid:[…]`), null when its hash has none. */
  pidNs: string | null;
}

/**
 * Takes the worker hash `key` unless a live worker holds it (name.lua): null when the name
 * is now ours, else who holds it. `start` is this start's token, kept in the hash.
 */
export async function holdName(
  client: Redis,
  key: string,
  n: { host: string; pid: number; ttlMs: number; start: string; pidNs?: string; beatMs?: number },
): Promise<NameHolder | null> {
  const args = [n.host, n.pid, n.ttlMs, n.start, n.pidNs ?? "", n.beatMs ?? ""];
  const held = await runScript<(string | number | null)[]>(client, scripts.name, [key], args);
  if (held.length === 0) return null;
  const [host, pid, ago, beat, pidNs] = held;
  return {
    host: host == null ? null : String(host),
    pid: pid == null ? null : String(pid),
    agoMs: typeof ago === "number" ? ago : null,
    beatMs: typeof beat === "number" && beat > 0 ? beat : null,
    pidNs: typeof pidNs === "string" && pidNs !== "" ? pidNs : null,
  };
}
