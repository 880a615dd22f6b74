// A worker's record as info, /metrics and the dashboard read it (lib/admin/workers.ts): the
// fields a row shows, not the whole hash. A record written by hand can hold any field of any
// size, and HGETALL read a 10 MB one into every dashboard snapshot, every second. A spy counts
// the bytes of every reply on the connection.
import { expect, test } from "bun:test";
import { readWorkers } from "../lib/admin/workers.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { asClient, redisTime } from "./fixtures/engine.ts";
import { spy } from "./fixtures/reply-bytes.ts";
import { rawRedis, testPrefix } from "./helpers.ts";

const MB = 1_000_000;

test("a record with a 10 MB field no row shows: the row read as before, not the 10 MB", async () => {
  const keys = queueKeys(testPrefix(), "q");
  await using r = await rawRedis();
  const now = await redisTime(r);
  const row = ["host", "h1", "pid", "42", "concurrency", "4", "in_flight", "1", "beat_ms", "5000"];
  await r.sendCommand(["ZADD", keys.workers, String(now), "big"]);
  await r.sendCommand([
    ...["HSET", keys.worker("big"), ...row, "processed", "7", "failed", "2"],
    ...["tasks", '["a","b"]', "notes", "x".repeat(10 * MB)],
  ]);
  // Only fields no row shows (by hand): a record all the same, not a worker gone.
  await r.sendCommand(["ZADD", keys.workers, String(now), "odd"]);
  await r.sendCommand(["HSET", keys.worker("odd"), "notes", "x".repeat(10 * MB)]);
  const seen = spy(r);
  const workers = await readWorkers(asClient(r), keys, now, true);
  expect(seen.total).toBeLessThan(MB);
  const byName = new Map(workers.map((w) => [w.name, w]));
  expect(byName.get("big")).toMatchObject({
    host: "h1",
    pid: 42,
    concurrency: 4,
    inFlight: 1,
    processed: 7,
    failed: 2,
    state: "busy",
    heartbeatEveryMs: 5000,
    tasks: ["a", "b"],
  });
  expect(byName.get("odd")).toMatchObject({ host: null, pid: null, state: "idle" });
  // Not pruned: its record is there.
  expect(await r.sendCommand(["ZSCORE", keys.workers, "odd"])).not.toBeNull();
});

test("a worker whose record expired is gone, and pruned", async () => {
  const keys = queueKeys(testPrefix(), "q");
  await using r = await rawRedis();
  const now = await redisTime(r);
  await r.sendCommand(["ZADD", keys.workers, String(now - 60_000), "dead"]);
  const [w] = await readWorkers(asClient(r), keys, now, true);
  expect(w).toMatchObject({ name: "dead", state: "gone" });
  expect(await r.sendCommand(["ZSCORE", keys.workers, "dead"])).toBeNull();
});
