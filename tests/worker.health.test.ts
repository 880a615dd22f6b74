// Operations: /livez and /healthz for orchestrators, and warnings about Redis settings that
// put jobs at risk.
import { describe, expect, spyOn, test } from "bun:test";
import { mastersOf } from "../lib/redis/cluster.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { findFreePort } from "../lib/stack/redis-server.ts";
import { serveHealth } from "../lib/worker/health.ts";
import { rawRequest } from "./fixtures/raw-http.ts";
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

describe("health requests without a usable Host", () => {
  // Bun makes req.url from the Host header: with none, or a malformed one, it does not parse.
  test.each([
    ["no Host (HTTP/1.0)", "GET /livez HTTP/1.0\r\n", "200", "ok live\n"],
    ["Host: a b", "GET /healthz HTTP/1.1\r\nHost: a b\r\n", "200", "ok ready\n"],
    ["Host: [zz", "GET /livez?x=1 HTTP/1.1\r\nHost: [zz\r\n", "200", "ok live\n"],
    ["a port past 65535", "GET /nope HTTP/1.1\r\nHost: h:99999\r\n", "404", "not found\n"],
    // A fragment is no part of the path (the URL parser dropped it): raw, with no Host to parse.
    ["a fragment, no Host", "GET /healthz#probe HTTP/1.0\r\n", "200", "ok ready\n"],
  ])("%s: answered by the path, no error page", async (_, head, status, body) => {
    const w = await startWorker({
      prefix: testPrefix(),
      tasks: [],
      healthPort: await findFreePort(),
      healthHost: "127.0.0.1",
    });
    try {
      const answer = await rawRequest(w.healthPort, `${head}Connection: close\r\n\r\n`);
      expect(answer).toStartWith(`HTTP/1.1 ${status}`);
      expect(answer.split("\r\n\r\n")[1]).toBe(body);
    } finally {
      await w.stop();
    }
  });

  test("a check that throws is a bare 500: the error in the log, never to the client", async () => {
    const fail = () => {
      throw new Error("boom \u009b31m");
    };
    const server = serveHealth({ ready: fail, live: fail }, 0, "127.0.0.1");
    const log = spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/livez`);
      expect([res.status, await res.text()]).toEqual([500, "internal error\n"]);
      expect(log.mock.calls.map((c) => String(c[0]))).toEqual([
        'health: internal error: "boom \\u009b31m"\n',
      ]);
    } finally {
      log.mockRestore();
      server.stop();
    }
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
