// Delayed jobs and jobs waiting for their parents, read from a sorted set of job ids (the
// delayed set by due ms, `children` by enqueue ms) a page at a time, each with its record's
// task and attempts used.

import type { QueueKeys } from "../../engine/keys.ts";
import type { Redis } from "../../redis/connect.ts";
import { num, type Placed, type StateReader } from "./row.ts";

/**
 * A sorted set of job ids, a page of it: the delayed set by due ms, `children` (jobs waiting for
 * their parents) by enqueue ms; each with its record's task and attempts used.
 */
async function scoredPage(
  client: Redis,
  keys: QueueKeys,
  set: string,
  pos: string | null,
  count: number,
  oldest: boolean,
): Promise<Placed[]> {
  const from = pos ? await rankAfter(client, set, pos, oldest) : 0;
  const flat = await client.sendCommand<string[]>([
    ...[oldest ? "ZRANGE" : "ZREVRANGE", set, String(from), String(from + count - 1)],
    "WITHSCORES",
  ]);
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  const records = await Promise.all(
    pairs.map(([id]) =>
      client.sendCommand<(string | null)[]>(["HMGET", keys.record(id), "t", "a"]).catch(() => []),
    ),
  );
  return pairs.map(([id, score], i) => {
    const [task, a] = records[i] ?? [];
    const used = num(a ?? undefined);
    const at = Number(score);
    const row = {
      id,
      task: task ?? "",
      at: Number.isFinite(at) ? at : null,
      attempt: used === null ? null : used + 1,
    };
    // A score written by hand may be no finite number (`inf`): it sorts as 0, never throws.
    const ms = Number.isFinite(at) ? BigInt(Math.trunc(at)) : 0n;
    return { row, pos: `${score} ${id}`, key: [ms, 0n] as [bigint, bigint] };
  });
}

/** The rank the page after position `pos` (`<score> <member>`) starts at. */
async function rankAfter(client: Redis, set: string, pos: string, oldest: boolean) {
  const space = pos.indexOf(" ");
  const [score, member] = [pos.slice(0, space), pos.slice(space + 1)];
  const rank = await client.sendCommand<number | null>([
    oldest ? "ZRANK" : "ZREVRANK",
    set,
    member,
  ]);
  // Gone since (promoted): go on from its due time instead.
  const range = oldest ? ["-inf", score] : [score, "+inf"];
  return rank === null
    ? Number(await client.sendCommand(["ZCOUNT", set, ...range]))
    : Number(rank) + 1;
}

export const delayed: StateReader = (client, keys, pos, count, oldest) =>
  scoredPage(client, keys, keys.delayed, pos, count, oldest);

export const waitingForParents: StateReader = (client, keys, pos, count, oldest) =>
  scoredPage(client, keys, keys.children, pos, count, oldest);
