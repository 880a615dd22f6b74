// Dead jobs, read from the shard's dead letters (newest or oldest first), as their letters
// tell them (letters.ts).

import { toLetter } from "../letters.ts";
import { entryKey, rowEntries, type StateReader } from "./row.ts";

export const dead: StateReader = async (client, keys, pos, count, oldest) => {
  const range = oldest
    ? { reverse: false, from: pos ? `(${pos}` : "-", to: "+", count }
    : { reverse: true, from: pos ? `(${pos}` : "+", to: "-", count };
  // A row shows the job, its task and attempt: a letter's payload and error are not read.
  const entries = await rowEntries(client, keys.dead, range, ["id", "task", "attempts"]);
  return entries.map((e) => {
    const l = toLetter(e as [string, string[]]);
    const row = { id: l.id, task: l.task, at: l.deadAt, attempt: l.attempts };
    return { row, pos: l.entryId, key: entryKey(l.entryId) };
  });
};
