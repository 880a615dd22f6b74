// A task's parked set of another type (R88 finding 4): the heartbeat still says whether the
// name is held (that answer never depends on serving), the other tasks' parked jobs all go
// back within the one beat (not 1,000 a beat), and a running worker logs the key once, as an
// error line naming it, rather than failing every heartbeat.
import { describe, expect, test } from "bun:test";
import { queueKeys } from "../lib/engine/keys.ts";
import { defineTask } from "../lib/types.ts";
import { heartbeat } from "../lib/worker/presence.ts";
import { asClient } from "./fixtures/engine.ts";
import { logRecorder, oneShardFile, rawRedis, startWorker, testPrefix, until } from "./helpers.ts";

// Plants the queue's parked sets and worker hash in the one-shard layout (queueKeys).
oneShardFile();

const PARKED = 2_500; // more than one serve call takes from a task (1,000)

describe("a parked set of another type, at a heartbeat", () => {
  test("the beat's answer is kept, and every other task's parked job goes back", async () => {
    const keys = queueKeys(testPrefix(), "default");
    await using r = await rawRedis();
    await r.sendCommand(["XGROUP", "CREATE", keys.stream, "workers", "$", "MKSTREAM"]);
    // Parked for task b as leave.lua leaves them: a queued record, and the id in parked:b.
    const record = ["t", "b", "p", "{}", "a", "0", "m", "3", "n", "0", "status", "queued"];
    await Promise.all(
      Array.from({ length: PARKED }, (_, i) =>
        Promise.all([
          r.sendCommand(["HSET", keys.record(`j${i}`), ...record, "waiting_for", "b"]),
          r.sendCommand(["ZADD", `${keys.parkedPrefix}b`, String(i), `j${i}`]),
        ]),
      ),
    );
    await r.sendCommand(["HSET", keys.tasks, "parked:b", String(PARKED)]);
    await r.sendCommand(["SET", `${keys.parkedPrefix}a`, "not a zset"]);
    // The name is held by a later start: the beat must say so (the worker then stops).
    await r.sendCommand(["HSET", keys.worker("w1"), "start", "a-later-start", "host", "h"]);

    const o = { name: "w1", start: "mine", heartbeatEveryMs: 1_000, concurrency: 1 };
    const counts = { inFlight: 0, processed: 0, failed: 0 };
    // biome-ignore lint/suspicious/noExplicitAny: the beat reads only these options
    const beat = await heartbeat(asClient(r), keys, o as any, counts, ["a", "b"]);
    expect(beat).toEqual({ held: false, corrupt: [`${keys.parkedPrefix}a`] });
    expect(await r.sendCommand(["ZCARD", `${keys.parkedPrefix}b`])).toBe(0);
    expect(await r.sendCommand(["XLEN", keys.stream])).toBe(PARKED);
    expect(await r.sendCommand(["GET", `${keys.parkedPrefix}a`])).toBe("not a zset");
  });
});

describe("serving that fails at a heartbeat (its tasks hash of another type)", () => {
  test("the beat's answer comes with the failure, for the worker to act on", async () => {
    const keys = queueKeys(testPrefix(), "default");
    await using r = await rawRedis();
    await r.sendCommand(["SET", keys.tasks, "not a hash"]);
    await r.sendCommand(["HSET", keys.worker("w1"), "start", "a-later-start", "host", "h"]);
    const o = { name: "w1", start: "mine", heartbeatEveryMs: 1_000, concurrency: 1 };
    const counts = { inFlight: 0, processed: 0, failed: 0 };
    // biome-ignore lint/suspicious/noExplicitAny: the beat reads only these options
    const beat = await heartbeat(asClient(r), keys, o as any, counts, ["a"]);
    expect(beat).toMatchObject({ held: false, corrupt: [] });
    expect(String(beat.serveFailed)).toContain(keys.tasks);
  });
});

describe("a running worker whose task's parked set holds another type", () => {
  test("logs the key once, as an error line, and keeps beating", async () => {
    const prefix = testPrefix();
    const keys = queueKeys(prefix, "default");
    const key = `${keys.parkedPrefix}png`;
    await using r = await rawRedis();
    await r.sendCommand(["SET", key, "not a zset"]);
    const log = logRecorder();
    const png = defineTask({ name: "png", run: async () => 1 });
    const w = await startWorker({ prefix, tasks: [png], logger: log, heartbeatEveryMs: 50 });
    try {
      // Several beats after the first: each rewrites the worker hash's seen_at.
      const seen = new Set<string>();
      await until(async () => {
        seen.add(String(await r.sendCommand(["HGET", keys.worker(w.name), "seen_at"])));
        return seen.size > 4;
      }, "five heartbeats");
      const lines = log.records.filter((l) => l.fields.key === key);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: "error", event: expect.stringContaining("zset") });
      expect(log.events()).not.toContain("redis command failed");
    } finally {
      await w.stop();
    }
  });
});
