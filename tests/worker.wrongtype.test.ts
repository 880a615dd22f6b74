// A queue-wide key of the wrong type (another program sharing the prefix, a hand edit) is an
// operator's error that no retry fixes: the worker stops at its first refused read, says which
// key in one line (Worker.failure; the CLI exits 6), instead of retrying for ever.
import { describe, expect, test } from "bun:test";
import { shardKeys } from "../lib/engine/keys.ts";
import { RedisRefusedError } from "../lib/errors.ts";
import { logRecorder, rawRedis, runCli, startWorker, testPrefix, testShards } from "./helpers.ts";

const KEYS = ["stats", "events", "dead", "minutes"] as const;

async function spoil(prefix: string, which: (typeof KEYS)[number]): Promise<string> {
  // Shard 0's key, of as many shards as the worker will read (6 in the cluster pass).
  const key = shardKeys(prefix, "default", testShards() ?? 1)[0]![which];
  await using r = await rawRedis();
  await r.sendCommand(["SET", key, "junk"]);
  return key;
}

describe("a worker facing a queue key of the wrong type", () => {
  test.each(KEYS)("%s: Worker stops by itself with a refusal naming the key", async (which) => {
    const prefix = testPrefix();
    const key = await spoil(prefix, which);
    const logger = logRecorder();
    const w = await startWorker({ prefix, tasks: [], logger });
    await w.stopped;
    expect(w.failure).toBeInstanceOf(RedisRefusedError);
    expect(w.failure!.message).toContain(`(WRONGTYPE): key ${key} holds a string`);
    expect(logger.events()).not.toContain("read failed, retrying");
  });

  test("the CLI (--burst too) exits 6 with one line naming the key", async () => {
    const prefix = testPrefix();
    const key = await spoil(prefix, "stats");
    const r = await runCli("worker", ["--prefix", prefix, "--burst", "--log-format", "json"]);
    expect(r.code).toBe(6);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith("worker: Redis refused a Courier script (WRONGTYPE): key ");
    expect(lines[0]).toContain(`${key} holds a string where Courier keeps a hash`);
    expect(r.stdout).not.toContain("read failed, retrying");
  });
});
