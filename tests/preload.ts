// Test preload (bunfig.toml): one real redis-server on a free loopback port for the whole run,
// persistence off, in a temporary folder. Tests reach it through REDIS_URL and give every
// test its own key prefix (tests/helpers.ts). A test that leaves a worker, connection,
// server or subprocess open fails.
import { afterAll, afterEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findFreePort, startRedisServer } from "../lib/stack/redis-server.ts";
import { closeLeftovers } from "./helpers.ts";

const dataDir = mkdtempSync(join(tmpdir(), "courier-test-redis-"));
const server = await startRedisServer({ port: await findFreePort(), dataDir, persistence: false });
process.env.REDIS_URL = server.url;
process.env.COURIER_TEST_REDIS_URL = server.url;

afterEach(async () => {
  const left = await closeLeftovers();
  if (left.length > 0) throw new Error(`test left open: ${left.join(", ")}`);
});

afterAll(async () => {
  await server.stop(2_000);
  rmSync(dataDir, { recursive: true, force: true });
});
