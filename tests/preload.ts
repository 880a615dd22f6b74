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
// Under `bun test --parallel` (scripts/check.ts), each worker process uses the server given to it
// (scripts/_test-servers.ts), started and stopped by the pass: how often bun runs a preload's
// afterAll in a worker is not something to rely on (after each file for some preloads in Bun
// 1.4.5, once at the worker's end for others), and a server stopped early fails every later file.
const given = givenUrl();
const dataDir = given ? null : mkdtempSync(join(tmpdir(), "courier-test-redis-"));
const server = !dataDir
  ? null
  : clusterMode
    ? await startCluster({ dir: join(dataDir, "cluster"), fullCoverage: false })
    : await startRedisServer({ port: await findFreePort(), dataDir, persistence: false });
const url = given ?? (server instanceof LocalCluster ? server.seedUrl : server!.url);
if (clusterMode) process.env.COURIER_TEST_SHARDS ??= "6";
process.env.REDIS_URL = url;
process.env.COURIER_TEST_REDIS_URL = url;
const errors = await errorReplies();

afterEach(async () => {
  const left = await closeLeftovers();
  const crossSlot = (await errors?.newCrossSlot()) ?? 0; // this test's doing: tests run one at a time
  if (left.length > 0) throw new Error(`test left open: ${left.join(", ")}`);
  if (crossSlot > 0) throw new Error(`${crossSlot} CROSSSLOT replies during this test`);
});

afterAll(async () => {
  if (given) return; // scripts/check.ts stops it, and prints the error replies
  if (errors) {
    // Errors a test caught count too (tests/fixtures/cluster-errors.ts; scripts/check.ts reads it).
    console.error(errorRepliesLine(await errors.sums()));
    await errors.close();
  }
  await (server instanceof LocalCluster ? server.stop() : server!.stop(2_000));
  rmSync(dataDir!, { recursive: true, force: true });
});

/** This worker's server from COURIER_TEST_REDIS_URLS (one URL per worker), if it was given one. */
function givenUrl(): string | null {
  const urls = process.env.COURIER_TEST_REDIS_URLS?.split(" ").filter(Boolean) ?? [];
  const worker = Number(process.env.BUN_TEST_WORKER_ID);
  if (urls.length === 0 || !worker) return null;
  const mine = urls[worker - 1];
  if (!mine) throw new Error(`COURIER_TEST_REDIS_URLS has no URL for test worker ${worker}`);
  return mine;
}

/** The cluster's error counts, the starting point of each test's CROSSSLOT check. */
async function errorReplies(): Promise<ErrorReplies | null> {
  if (server instanceof LocalCluster) return ErrorReplies.open(server.livePorts);
  if (!given || !clusterMode) return null;
  const ports = [...given.matchAll(/:(\d+)/g)].map((m) => Number(m[1]));
  const replies = await ErrorReplies.open(ports);
  await replies.newCrossSlot(); // those of earlier files were counted there
  return replies;
}
