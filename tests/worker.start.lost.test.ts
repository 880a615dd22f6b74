// The connection lost while a worker starts, after it connected (Redis shutting down between
// two of its start-up calls): Worker.start throws a ConnectError naming the URL, and the CLI
// exits 6 with one line, not "unexpected error" and a stack trace (exit 70).
import { expect, test } from "bun:test";
import { queueKeys } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { ConnectError } from "../lib/errors.ts";
import { Worker } from "../lib/worker/worker.ts";
import { lossyProxy } from "./fixtures/lossy-proxy.ts";
import { nodeUrlOf, runCli, testPrefix } from "./helpers.ts";

// The format stamp (meta.lua), a start-up call after the connection and its checks.
const STAMP = scripts.meta.sha;

/** The server holding a one-shard queue under `prefix`: the test Redis, on a cluster its master. */
const nodeOf = (prefix: string) => nodeUrlOf(queueKeys(prefix, "default").stream);

test("Worker.start throws a ConnectError", async () => {
  const prefix = testPrefix();
  await using proxy = await lossyProxy(STAMP, 1, "reply", await nodeOf(prefix));
  const start = Worker.start({ redisUrl: proxy.url, prefix, tasks: [] });
  const err = await start.catch((e: unknown) => e);
  expect(proxy.dropped).toBe(1);
  expect(err).toBeInstanceOf(ConnectError);
  expect((err as Error).message).toStartWith(
    `Redis at ${proxy.url} did not answer while the worker started: `,
  );
});

test("the worker CLI exits 6 with one line", async () => {
  const prefix = testPrefix();
  await using proxy = await lossyProxy(STAMP, 1, "reply", await nodeOf(prefix));
  const r = await runCli("worker", ["--prefix", prefix, "--burst"], {
    env: { REDIS_URL: proxy.url, COURIER_SHARDS: "1" },
  });
  expect(r.code).toBe(6);
  expect(r.stderr.trimEnd().split("\n")).toEqual([
    `worker: Redis at ${proxy.url} did not answer while the worker started: Socket closed unexpectedly`,
  ]);
});
