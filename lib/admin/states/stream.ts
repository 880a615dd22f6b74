// Waiting and running jobs, read from the shard's stream (docs/internals.md, "Listing jobs"):
// waiting = the entries after the group's last-delivered-id, running = the pending list, each
// with its entry's fields (job id, task, attempts used).

import { autoIdMs, GROUP, type QueueKeys } from "../../engine/keys.ts";
import { compareStreamIds } from "../../queue/recent.ts";
import type { Redis } from "../../redis/connect.ts";
import { readGroup } from "../stats.ts";
import { entryKey, fieldsOf, num, rowEntries, type StateReader } from "./row.ts";

/** A job from its entry: its id (`i`, else the entry id and the shard's suffix), task, `a`. */
function entryJob(keys: QueueKeys, entryId: string, flat: readonly string[] | null) {
  const f = fieldsOf(flat);
  const id = f.get("i") ?? entryId + keys.idSuffix;
  const at = autoIdMs(id) ?? Number(entryKey(entryId)[0]);
  return { id, task: f.get("t") ?? "", at, used: num(f.get("a")) };
}

/** The group's last-delivered-id; null when there is no group yet (every entry waits). */
async function lastDelivered(client: Redis, keys: QueueKeys): Promise<string | null> {
  return (await readGroup(client, keys))?.lastDeliveredId ?? null;
}

/** The entry fields a row shows: job id, task, attempts used (never the payload, `p`). */
const ROW = ["i", "t", "a"];

const earlier = (a: string, b: string) => (compareStreamIds(a, b) <= 0 ? a : b);
const later = (a: string, b: string) => (compareStreamIds(a, b) >= 0 ? a : b);

export const waiting: StateReader = async (client, keys, pos, count, oldest) => {
  const last = await lastDelivered(client, keys);
  const floor = last === null ? "-" : `(${last}`;
  const range = oldest
    ? { from: pos && last ? `(${later(pos, last)}` : pos ? `(${pos}` : floor, to: "+" }
    : { from: pos ? `(${pos}` : "+", to: floor };
  const entries = await rowEntries(client, keys.stream, { ...range, reverse: !oldest, count }, ROW);
  return entries.map(([entryId, flat]) => {
    const j = entryJob(keys, entryId, flat);
    const row = { id: j.id, task: j.task, at: j.at, attempt: j.used === null ? null : j.used + 1 };
    return { row, pos: entryId, key: entryKey(entryId) };
  });
};

type PendingRow = [string, string, number, number];

export const running: StateReader = async (client, keys, pos, count, oldest) => {
  const shown = oldest
    ? await pendingFrom(client, keys, pos, count)
    : await pendingNewest(client, keys, pos, count);
  const entries = await Promise.all(
    shown.map(([id]) =>
      rowEntries(client, keys.stream, { reverse: false, from: id, to: id, count: 1 }, ROW),
    ),
  );
  return shown.flatMap(([entryId, consumer, , deliveries], i) => {
    const flat = entries[i]?.[0]?.[1];
    if (!flat) return []; // acknowledged and deleted since: no longer running
    const j = entryJob(keys, entryId, flat);
    const attempt = j.used === null ? null : j.used + Number(deliveries);
    const row = { id: j.id, task: j.task, at: j.at, attempt, worker: String(consumer) };
    return [{ row, pos: entryId, key: entryKey(entryId) }];
  });
};

const noGroup = (err: Error) =>
  /NOGROUP|no such key/i.test(err.message) ? [] : Promise.reject(err);

/** Oldest first: the pending list itself, after `pos`. */
function pendingFrom(client: Redis, keys: QueueKeys, pos: string | null, count: number) {
  const start = pos ? `(${pos}` : "-";
  const cmd = ["XPENDING", keys.stream, GROUP, start, "+", String(count)];
  return client.sendCommand<PendingRow[]>(cmd).catch(noGroup);
}

/**
 * Newest first: the pending list has no reverse order, so the stream is read downwards from
 * the group's last delivery (every entry at or below it was delivered; one acknowledged is
 * deleted in the same script), and each entry's pending row is read on its own. A page costs
 * `count` reads whatever the pending list's length.
 */
async function pendingNewest(client: Redis, keys: QueueKeys, pos: string | null, count: number) {
  const last = await lastDelivered(client, keys);
  if (last === null) return [];
  const top = pos ? `(${earlier(pos, last)}` : last;
  // Entry ids only: the fields a row shows are read with each pending row's entry below.
  const range = { reverse: true, from: top, to: "-", count };
  const entries = await rowEntries(client, keys.stream, range, ["i"]).catch(noGroup);
  const rows = await Promise.all(
    entries.map(([id]) =>
      client.sendCommand<PendingRow[]>(["XPENDING", keys.stream, GROUP, id, id, "1"]),
    ),
  );
  return rows.flatMap((r) => (r[0] ? [r[0]] : []));
}
