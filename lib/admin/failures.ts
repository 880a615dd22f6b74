// A shard's latest failed attempts, from its events stream (the dashboard's failures list):
// bounded, the last 1,000 events whatever the queue's size.

import type { QueueKeys } from "../engine/keys.ts";
import { field } from "../queue/read.ts";
import type { Redis } from "../redis/connect.ts";

/** One shard's latest failed attempts (its events stream), newest first, one per job. */
export async function recentFailed(
  client: Redis,
  keys: QueueKeys,
  limit: number,
): Promise<{ id: string; type: string; at: number }[]> {
  const events = await client.sendCommand<[string, string[]][]>([
    "XREVRANGE",
    keys.events,
    "+",
    "-",
    "COUNT",
    "1000",
  ]);
  const seen = new Map<string, { id: string; type: string; at: number }>();
  for (const [entryId, fields] of events) {
    const type = field(fields, "type");
    if (type !== "failed" && type !== "retried") continue;
    // One job (a failed run), or every job one bury call dead-lettered (`ids`).
    for (const id of field(fields, "ids")?.split(",") ?? [field(fields, "id") ?? ""]) {
      if (!id || seen.has(id) || seen.size >= limit) continue;
      seen.set(id, { id, type, at: Number(entryId.split("-")[0]) });
    }
    if (seen.size >= limit) break;
  }
  return [...seen.values()];
}
