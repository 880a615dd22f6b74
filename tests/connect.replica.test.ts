// A read-only replica's address given as the Redis (the master's was meant): each write is
// refused READONLY, which `trigger` and `worker` showed as an unexpected error with its stack
// (exit 70). It is a refusal: one line saying what to give instead, exit 6.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import { onOneServer, redisUrl, runCli, testPrefix } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "courier-replica-"));
let replica: RedisServer | null = null;

beforeAll(async () => {
  if (!onOneServer) return; // a replica of the one test server
  const master = new URL(redisUrl());
  replica = await startRedisServer({
    ...{ port: await findFreePort(), dataDir: dir, persistence: false },
    extraArgs: ["--replicaof", master.hostname, master.port],
  });
});

afterAll(async () => {
  await replica?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test.if(onOneServer)(
  "trigger and worker given a replica exit 6 in one line, no stack",
  async () => {
    const env = { REDIS_URL: replica!.url };
    const prefix = ["--prefix", testPrefix()];
    for (const [name, args] of [
      ["trigger", ["--url", "https://example.org/"]],
      ["worker", ["--burst"]],
    ] as const) {
      const r = await runCli(name, [...args, ...prefix], { env });
      expect(r.stderr).toBe(
        `${name}: Redis refused a write (READONLY): this Redis is a read-only replica; give its master's address\n`,
      );
      expect(r.code).toBe(6);
    }
  },
);
