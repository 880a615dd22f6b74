// A Redis outage, as the worker's log tells it: one line when the connection is lost (with
// the cause and the masked URL), one when it is back, and nothing in between: not a line per
// reconnect attempt and connection, nor the reads and commands that fail meanwhile.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import { defineTask } from "../lib/types.ts";
import { logRecorder, startWorker, testPrefix, until } from "./helpers.ts";

let server: RedisServer | null = null;
const dataDir = mkdtempSync(join(tmpdir(), "courier-outage-"));

afterEach(async () => {
  await server?.stop(2_000);
  rmSync(dataDir, { recursive: true, force: true });
});

test("an outage logs one line when Redis is lost and one when it is back", async () => {
  const port = await findFreePort();
  server = await startRedisServer({ port, dataDir, persistence: false });
  const log = logRecorder();
  const w = await startWorker({
    prefix: testPrefix(),
    redisUrl: server.url,
    tasks: [defineTask({ name: "noop", run: async () => null })],
    concurrency: 32, // two lanes: three connections that all lose Redis at once
    reconnectMaxMs: 100,
    logger: log,
  });
  server.kill();
  await server.exited;
  await until(() => log.events().includes("redis connection lost; reconnecting"), "the loss");
  // Reconnect attempts fail meanwhile (every connection tries every 100 ms).
  await until(() => w.ready() === false, "the worker to see it");
  server = await startRedisServer({ port, dataDir, persistence: false });
  await until(() => log.events().includes("redis connection back"), "the return", 15_000);
  await until(() => w.ready(), "the worker to be ready again");
  await w.stop();

  const said = log.events();
  expect(said.filter((e) => e === "redis connection lost; reconnecting")).toHaveLength(1);
  expect(said.filter((e) => e === "redis connection back")).toHaveLength(1);
  for (const echo of ["redis connection error", "read failed, retrying", "redis command failed"]) {
    expect(said).not.toContain(echo);
  }
  const lost = log.records.find((r) => r.event === "redis connection lost; reconnecting")!;
  expect(lost.fields).toMatchObject({ redis: `redis://127.0.0.1:${port}` });
  expect(lost.fields.error).toEqual(expect.stringMatching(/\S/));
  const back = log.records.find((r) => r.event === "redis connection back")!;
  expect(back.fields.downMs).toBeGreaterThan(0);
});
