// Test preload (bunfig.toml): one real redis-server on a free loopback port for the whole run,
// persistence off, in a temporary folder. Tests reach it through REDIS_URL and give every
// test its own key prefix (tests/helpers.ts). A test that leaves a worker, connection,
// server or subprocess open fails.
import { afterAll, afterEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { findFreePort, startRedisServer } from "../lib/stack/redis-server.ts";
import { ErrorReplies, errorRepliesLine } from "./fixtures/cluster-errors.ts";
import { closeLeftovers } from "./helpers.ts";

// COURIER_TEST_CLUSTER=1: the same tests against a local 3+3 Redis Cluster (lib/stack/cluster.ts),
// queues of 6 shards unless COURIER_TEST_SHARDS says otherwise (docs/cluster.md, "Tests").
const clusterMode = process.env.COURIER_TEST_CLUSTER === "1";
const dataDir = mkdtempSync(join(tmpdir(), "courier-test-redis-"));
const server = clusterMode
  ? await startCluster({ dir: join(dataDir, "cluster"), fullCoverage: false })
  : await startRedisServer({ port: await findFreePort(), dataDir, persistence: false });
const url = server instanceof LocalCluster ? server.seedUrl : server.url;
if (clusterMode) process.env.COURIER_TEST_SHARDS ??= "6";
process.env.REDIS_URL = url;
process.env.COURIER_TEST_REDIS_URL = url;
const errors = server instanceof LocalCluster ? await ErrorReplies.open(server.livePorts) : null;

afterEach(async () => {
  const left = await closeLeftovers();
  const crossSlot = (await errors?.newCrossSlot()) ?? 0; // this test's doing: tests run one at a time
  if (left.length > 0) throw new Error(`test left open: ${left.join(", ")}`);
  if (crossSlot > 0) throw new Error(`${crossSlot} CROSSSLOT replies during this test`);
});

afterAll(async () => {
  if (errors) {
    // Errors a test caught count too (tests/fixtures/cluster-errors.ts; scripts/check.ts reads it).
    console.error(errorRepliesLine(await errors.sums()));
    await errors.close();
  }
  await (server instanceof LocalCluster ? server.stop() : server.stop(2_000));
  rmSync(dataDir, { recursive: true, force: true });
});
