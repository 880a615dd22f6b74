// Finished, failed and canceled jobs, read from the shard's events stream (the events of that
// type, a chunk at a time), each with its task and attempt from the head of its outcome value
// while that is kept.

import type { QueueKeys } from "../../engine/keys.ts";
import type { Redis } from "../../redis/connect.ts";
import {
  type Entry,
  entryKey,
  fieldsOf,
  type JobRow,
  num,
  type Placed,
  type StateReader,
} from "./row.ts";

/** Events entries read per call while a page is filled. */
const EVENTS_CHUNK = 200;
/** The head of an outcome value read for its task and attempt (not its payload or result). */
const OUTCOME_HEAD = 2_047;

/** Finished, failed or canceled jobs: from the events of that `type` (ids in `id` or `ids`). */
export function ended(type: string): StateReader {
  return async (client, keys, pos, count, oldest) => {
    const slash = pos ? pos.indexOf("/") : -1;
    let entry = pos ? pos.slice(0, slash) : null;
    let skip = pos ? Number(pos.slice(slash + 1)) : -1; // ids of `entry` shown already
    const out: Placed[] = [];
    for (;;) {
      const [start, end] = oldest ? [entry ?? "-", "+"] : [entry ?? "+", "-"];
      const read = await client.sendCommand<Entry[]>([
        ...[oldest ? "XRANGE" : "XREVRANGE", keys.events, start, end],
        ...["COUNT", String(EVENTS_CHUNK)],
      ]);
      for (const [entryId, flat] of read) {
        const f = fieldsOf(flat);
        const ids = f.get("type") === type ? (f.get("ids") ?? f.get("id") ?? "").split(",") : [];
        for (const [i, id] of ids.entries()) {
          if ((entryId === entry && i <= skip) || id === "") continue;
          const row = { id, task: "", at: Number(entryKey(entryId)[0]), attempt: null };
          out.push({ row, pos: `${entryId}/${i}`, key: entryKey(entryId) });
        }
      }
      const lastRead = read.at(-1)?.[0];
      if (out.length >= count || read.length < EVENTS_CHUNK || lastRead === undefined) break;
      [entry, skip] = [lastRead, Number.MAX_SAFE_INTEGER]; // the next chunk starts after it
    }
    const page = out.slice(0, count);
    await withOutcomes(
      client,
      keys,
      page.map((p) => p.row),
    );
    return page;
  };
}

/** Task and attempt of ended jobs, from the head of each outcome value (while it is kept). */
async function withOutcomes(client: Redis, keys: QueueKeys, rows: JobRow[]): Promise<void> {
  const heads = await Promise.all(
    rows.map((r) =>
      client
        .sendCommand<string | null>(["GETRANGE", keys.result(r.id), "0", String(OUTCOME_HEAD)])
        .catch(() => null),
    ),
  );
  for (const [i, head] of heads.entries()) {
    if (!head) continue;
    const [header = "", task = ""] = head.split("\n");
    const tokens = header.split(" ");
    // F<end> <run> <attempt> …, X<end> <run> <attempt> …, C<end> <attempt> … (docs/internals.md).
    if (head[0] === "F" || head[0] === "X") rows[i]!.attempt = num(tokens[2]);
    else if (head[0] === "C") rows[i]!.attempt = num(tokens[1]);
    try {
      const name = JSON.parse(task);
      if (typeof name === "string") rows[i]!.task = name;
    } catch {
      // a head cut inside the task's name, or a value of another form: task unknown
    }
  }
}
