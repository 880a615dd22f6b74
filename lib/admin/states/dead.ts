// Dead jobs, read from the shard's dead letters (newest or oldest first), as their letters
// tell them (letters.ts).

import { toLetter } from "../letters.ts";
import { entryKey, type StateReader } from "./row.ts";

export const dead: StateReader = async (client, keys, pos, count, oldest) => {
  const range = oldest
    ? ["XRANGE", keys.dead, pos ? `(${pos}` : "-", "+"]
    : ["XREVRANGE", keys.dead, pos ? `(${pos}` : "+", "-"];
  const entries = await client.sendCommand<[string, string[]][]>([
    ...range,
    "COUNT",
    String(count),
  ]);
  return entries.map((e) => {
    const l = toLetter(e);
    const row = { id: l.id, task: l.task, at: l.deadAt, attempt: l.attempts };
    return { row, pos: l.entryId, key: entryKey(l.entryId) };
  });
};
