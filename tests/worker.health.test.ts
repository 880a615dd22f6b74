// Operations: /livez and /healthz for orchestrators, and warnings about Redis settings that
// put jobs at risk.
import { describe, expect, test } from "bun:test";
import { mastersOf } from "../lib/redis/cluster.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { findFreePort } from "../lib/stack/redis-server.ts";
import { logRecorder, rawRedis, startWorker, testPrefix } from "./helpers.ts";

describe("health endpoints", () => {
  test("/healthz and /livez answer 200 while the worker reads, and close with it", async () => {
    const port = await findFreePort();
    const log = logRecorder();
    const w = await startWorker({
      prefix: testPrefix(),
      tasks: [],
      healthPort: port,
      healthHost: "127.0.0.1",
      logger: log,
    });
    expect(w.healthPort).toBe(port);
    // The start line names the address it is bound to, not only the port.
    const started = log.records.find((r) => r.event === "worker started");
    expect(started?.fields.health).toBe(`127.0.0.1:${port}`);
    const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
    const ready = await get("/healthz");
    expect([ready.status, await ready.text()]).toEqual([200, "ok ready\n"]);
    const live = await get("/livez");
    expect([live.status, await live.text()]).toEqual([200, "ok live\n"]);
    expect((await get("/other")).status).toBe(404);
    expect(w.ready()).toBe(true);
    await w.stop();
    expect(w.ready()).toBe(false);
    await expect(get("/healthz")).rejects.toThrow(); // the server is gone with the worker
  });
});

describe("Redis settings", () => {
  test("an evicting maxmemory-policy and appendonly no are warned about at start", async () => {
    await using r = await rawRedis();
    const before = (await r.sendCommand(["CONFIG", "GET", "maxmemory-policy"]))[1];
    await r.sendCommand(["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    try {
      const log = logRecorder();
      const w = await startWorker({ prefix: testPrefix(), tasks: [], logger: log });
      await w.stop();
      expect(log.records.map((r) => `${r.level} ${r.event}`)).toContain(
        "warn maxmemory-policy is allkeys-lru: Redis may evict job records or the stream under memory pressure and lose jobs; set it to noeviction",
      );
      expect(log.records.map((r) => `${r.level} ${r.event}`)).toContain(
        "warn appendonly is no: jobs will not survive a broker restart",
      );
    } finally {
      await r.sendCommand(["CONFIG", "SET", "maxmemory-policy", before]);
    }
  });

  test("no warnings when the settings are safe", async () => {
    await using r = await rawRedis();
    // Every server the worker checks: on a cluster, each master (the shards are spread).
    const servers = await mastersOf(r as unknown as Redis);
    const before = await Promise.all(
      servers.map(
        async (s) => (await s.sendCommand<string[]>(["CONFIG", "GET", "appendonly"]))[1]!,
      ),
    );
    for (const s of servers) await s.sendCommand(["CONFIG", "SET", "appendonly", "yes"]);
    try {
      const log = logRecorder();
      const w = await startWorker({ prefix: testPrefix(), tasks: [], logger: log });
      await w.stop();
      expect(log.records.filter((r) => r.level === "warn")).toEqual([]);
    } finally {
      for (const [i, s] of servers.entries()) {
        await s.sendCommand(["CONFIG", "SET", "appendonly", before[i]!]);
      }
    }
  });
});
