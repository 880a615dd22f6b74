// Worker records `info` reads that no worker wrote (by hand, or corrupt): a pid or in-flight
// count that is no whole number shows as unknown, never NaN or Infinity; a beat in the future
// and an interval past any a worker may have do not keep a worker live for ever.
import { describe, expect, test } from "bun:test";
import { readWorkers } from "../lib/admin/workers.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { asClient, redisTime } from "./fixtures/engine.ts";
import { rawRedis, runCli, testPrefix } from "./helpers.ts";

describe("a worker record no worker wrote", () => {
  test("bad numbers read as unknown; a future beat with a huge interval is late", async () => {
    const prefix = testPrefix();
    const keys = queueKeys(prefix, "default");
    await using r = await rawRedis();
    const now = await redisTime(r);
    await r.sendCommand(["XGROUP", "CREATE", keys.stream, "workers", "0", "MKSTREAM"]);
    const fields = ["host", "h", "concurrency", "2", "beat_ms", "5000"];
    await r.sendCommand(["ZADD", keys.workers, String(now), "odd"]);
    await r.sendCommand([
      "HSET",
      keys.worker("odd"),
      ...fields,
      "pid",
      "abc",
      "in_flight",
      "1e999",
    ]);
    // A beat a year ahead, and an interval of a thousand years.
    const year = 365 * 86_400_000;
    await r.sendCommand(["ZADD", keys.workers, String(now + year), "forever"]);
    await r.sendCommand([
      "HSET",
      keys.worker("forever"),
      "host",
      "h",
      "beat_ms",
      String(1000 * year),
    ]);

    const workers = await readWorkers(asClient(r), keys, now, false);
    const byName = new Map(workers.map((w) => [w.name, w]));
    expect(byName.get("odd")).toMatchObject({ pid: null, inFlight: null, state: "idle" });
    expect(byName.get("forever")?.state).toBe("late");

    const text = await runCli("info", ["--prefix", prefix]);
    expect(text.code).toBe(0);
    expect(text.stdout).not.toMatch(/NaN|Infinity/);
    expect(text.stdout).toMatch(/^ {4}odd +h +\? +2 +\? /m);
  });
});
