// An entry of a queue of N shards that fails the worker's check with no valid job id (its `i`
// is not one) is dead-lettered under the id its entry names in that shard: the auto id
// `<entry>:<shard>`, as every other job of the shard. A letter named by the bare entry id
// would name no shard (keys.ts shardOf: -1): `dead delete`, `dead requeue` and the dashboard's
// actions could never find it, though `dead list` shows it. On one shard the two are the same.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { entryFields } from "../lib/engine/entry.ts";
import { GROUP, type QueueKeys, shardKeys } from "../lib/engine/keys.ts";
import { defineTask } from "../lib/types.ts";
import { type RawRedis, rawRedis, redisUrl, startWorker, testPrefix, until } from "./helpers.ts";

const SHARDS = 6;
const echo = defineTask({ name: "echo", run: async (p: unknown) => p });

/** Adds to `k`'s stream an entry whose `i` is not a job id; returns the entry id. */
async function badIdEntry(r: RawRedis, k: QueueKeys): Promise<string> {
  const fields = entryFields("echo", '"x"', 3, { id: "not a job id" });
  return String(await r.sendCommand(["XADD", k.stream, "*", ...fields]));
}

/** The letter is found, and deleted, by the id its shard gives the entry. */
async function expectLetterUnder(prefix: string, id: string): Promise<void> {
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
  try {
    await until(async () => (await admin.deadLetters()).letters.length === 1, "the letter");
    expect((await admin.deadLetters()).letters.map((l) => l.id)).toEqual([id]);
    expect(await admin.deadLetter(id)).toMatchObject({
      id,
      error: expect.stringContaining("job id is not valid"),
    });
    expect(await admin.deleteDead([id])).toEqual([id]);
    expect((await admin.deadLetters()).letters).toEqual([]);
  } finally {
    await admin.close();
  }
}

describe("an entry with no valid job id in a queue of 6 shards", () => {
  test("read fresh: its letter is named <entry>:<shard>, and found by that id", async () => {
    const prefix = testPrefix();
    const keys = shardKeys(prefix, "default", SHARDS);
    await using r = await rawRedis();
    const w = await startWorker({ prefix, tasks: [echo], shards: SHARDS });
    const entry = await badIdEntry(r, keys[3]!);
    await expectLetterUnder(prefix, `${entry}:3`);
    await w.stop();
  });

  test("claimed from a dead worker: its letter is named <entry>:<shard> too", async () => {
    const prefix = testPrefix();
    const keys = shardKeys(prefix, "default", SHARDS);
    const k5 = keys[5]!;
    await using r = await rawRedis();
    // Read by a worker that died holding it: the claim is what checks it.
    await r.sendCommand(["XGROUP", "CREATE", k5.stream, GROUP, "0", "MKSTREAM"]);
    const entry = await badIdEntry(r, k5);
    await r.sendCommand(["XREADGROUP", "GROUP", GROUP, "ghost", "STREAMS", k5.stream, ">"]);
    const w = await startWorker({ prefix, tasks: [echo], shards: SHARDS, claimIdleMs: 60 });
    await expectLetterUnder(prefix, `${entry}:5`);
    await w.stop();
  });
});
