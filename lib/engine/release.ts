// Release at stop (docs/internals.md, "8. Shutdown"): owns release.lua's KEYS/ARGV order and reply.
import { MOVE_BYTES } from "../config.ts";
import type { Redis } from "../redis/connect.ts";
import { GROUP, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

export interface ReleaseOptions {
  /** Most entries per call. */
  most?: number;
  /** Most entry bytes a call reads (the entry that crosses it included); default MOVE_BYTES. */
  bytes?: number;
  /** This start's token (name.lua's `start`): a hash naming another start refuses the release. */
  start?: string;
  /** Also leave: out of the workers set, the worker's hash deleted (a shard's normal view). */
  leave?: boolean;
}

/**
 * Gives back every entry pending on `consumer` as a fresh entry (the unfinished run not
 * counted as an attempt), then leaves the group: call after call, each of at most `most`
 * entries or `bytes` of them. Returns how many jobs were re-added, or null when the worker's
 * hash names another start (a later start took the name): nothing was done.
 */
export async function releaseAll(
  client: Redis,
  k: QueueKeys,
  consumer: string,
  most: number | ReleaseOptions = 1000,
): Promise<number | null> {
  const o = typeof most === "number" ? { most } : most;
  const per = o.most ?? 1000;
  const args = [k.recordPrefix, k.resultPrefix, GROUP, consumer, per, k.idSuffix];
  // At least 1: a call then always releases its first entry, so releaseAll ends.
  args.push(o.start ?? "", o.leave ? "1" : "", Math.max(1, o.bytes ?? MOVE_BYTES));
  const keys = [k.stream, k.worker(consumer), k.workers];
  let released = 0;
  for (;;) {
    type Reply = [number, number, string?];
    const [n, more, taken] = await runScript<Reply>(client, scripts.release, keys, args);
    if (taken === "taken") return null;
    released += n;
    if (more !== 1) return released;
  }
}
