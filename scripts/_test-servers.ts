// The Redis servers of a parallel test pass (scripts/check.ts): one per `bun test` worker
// process, each a redis-server (or a local 3+3 cluster for the cluster pass) as tests/preload.ts
// starts for a single run. The preload does not start them itself under --parallel: when bun
// runs a preload's afterAll (after each file of a worker for some preloads in Bun 1.4.5) is not
// something to rely on, and a server stopped early fails every later file of that worker. They reach the workers as COURIER_TEST_REDIS_URLS, one URL per worker.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import { ErrorReplies, errorRepliesLine } from "../tests/fixtures/cluster-errors.ts";

export interface TestServers {
  /** For the workers' environment: COURIER_TEST_REDIS_URLS. */
  urls: string;
  /** The nodes' error replies by type, summed (a cluster; "" for servers), then stops them all. */
  stop(): Promise<string>;
  /** Stops them all without reading anything (the pass was interrupted). */
  halt(): Promise<void>;
}

/** How long the error replies may take to read: a node that stopped answering is not waited for. */
const ERRORS_READ_MS = 10_000;

/** `count` servers (persistence off) or, with `cluster`, `count` clusters, in a temporary folder. */
export async function startTestServers(count: number, cluster: boolean): Promise<TestServers> {
  const dir = mkdtempSync(join(tmpdir(), "courier-test-redis-"));
  const servers: (RedisServer | LocalCluster)[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const at = join(dir, String(i + 1));
      servers.push(
        cluster
          ? await startCluster({ dir: at, fullCoverage: false })
          : await startRedisServer({ port: await findFreePort(), dataDir: at, persistence: false }),
      );
    }
  } catch (err) {
    await stopAll(servers, dir);
    throw err;
  }
  const urls = servers.map((s) => ("seedUrl" in s ? s.seedUrl : s.url)).join(" ");
  return {
    urls,
    async stop() {
      try {
        // Errors a test caught count too: tests/preload.ts fails a test that caused one, this is
        // the pass's total (scripts/check.ts looks for `CROSSSLOT` in it).
        return cluster ? await withinMs(errorsLine(servers), ERRORS_READ_MS) : "";
      } finally {
        await stopAll(servers, dir);
      }
    },
    halt: () => stopAll(servers, dir),
  };
}

async function errorsLine(servers: (RedisServer | LocalCluster)[]): Promise<string> {
  const errors = await ErrorReplies.open(
    servers.flatMap((s) => ("livePorts" in s ? s.livePorts : [])),
  );
  try {
    return errorRepliesLine(await errors.sums());
  } finally {
    await errors.close();
  }
}

/** `work`'s value, or a line saying it did not come within `ms` (a node stopped answering). */
function withinMs(work: Promise<string>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`the nodes' error replies were not read within ${ms} ms`), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

async function stopAll(servers: (RedisServer | LocalCluster)[], dir: string): Promise<void> {
  await Promise.all(servers.map((s) => ("seedUrl" in s ? s.stop() : s.stop(2_000))));
  rmSync(dir, { recursive: true, force: true });
}
