// Queue.events() rides out a Redis restart (lib/queue/events.ts): reads that fail while Redis
// is away are told to onError and retried, and the event written after the restart arrives,
// with no gap (the AOF kept the entry the reader was at). Its own redis-server, which it stops.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "../lib/queue/queue.ts";
import { connect } from "../lib/redis/connect.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import { testPrefix, until } from "./helpers.ts";

let dataDir = "";
let port = 0;
let server: RedisServer | null = null;
const start = async () => {
  server = await startRedisServer({ port, dataDir, persistence: true });
  return server;
};

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "courier-events-restart-"));
  port = await findFreePort();
  await start();
});

afterEach(async () => {
  await server?.stop(2_000);
  rmSync(dataDir, { recursive: true, force: true });
});

test("an iterator waiting through a restart gets the next event, no gap", async () => {
  const url = server!.url;
  const q = await Queue.connect({ redisUrl: url, prefix: testPrefix(), reconnectMaxMs: 200 });
  try {
    await q.client.sendCommand(["XADD", q.keys.events, "*", "type", "finished", "ids", "a"]);
    const errors: unknown[] = [];
    const events = q.events({ onError: (e) => errors.push(e), blockMs: 100 });
    await events.cursor();
    const next = events.next();
    await server!.stop(5_000);
    await until(() => errors.length > 0, "a failed read told to onError");
    await start();
    const r = await connect(url);
    await r.sendCommand(["XADD", q.keys.events, "*", "type", "failed", "id", "b"]);
    r.destroy();
    const got = await next;
    expect(got.done).toBe(false);
    expect(got.value).toMatchObject({ type: "failed", id: "b" });
    events.close();
  } finally {
    await q.close();
  }
});
