// A Sentinel's address given as the Redis (its port, 26379, where the master's was meant): it
// answers INFO and then "unknown command" to every command of Courier's, which each command
// showed as an unexpected error with its stack (exit 70). Refused as it connects, in one line.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectError } from "../lib/errors.ts";
import { connect } from "../lib/redis/connect.ts";
import { findFreePort, pingRedis } from "../lib/stack/redis-server.ts";
import { runCli, testPrefix, until } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "courier-sentinel-"));
let sentinel: Bun.Subprocess;
let url: string;

beforeAll(async () => {
  const port = await findFreePort();
  const conf = join(dir, "sentinel.conf");
  // It watches a master that is not there: it answers all the same.
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\nsentinel monitor m 127.0.0.1 1 1\n`);
  sentinel = Bun.spawn(["redis-server", conf, "--sentinel"], {
    stdout: "ignore",
    stderr: "ignore",
  });
  await until(() => pingRedis(port), "the Sentinel to answer");
  url = `redis://127.0.0.1:${port}`;
});

afterAll(async () => {
  sentinel?.kill();
  await sentinel?.exited;
  rmSync(dir, { recursive: true, force: true });
});

test("connect refuses a Sentinel in one line", async () => {
  const err = await connect(url).catch((e) => e);
  expect(err).toBeInstanceOf(ConnectError);
  expect(err.message).toBe(
    `Redis at ${url} is a Sentinel, not a Redis server: give the address of the master it watches (SENTINEL GET-MASTER-ADDR-BY-NAME <name> names it)`,
  );
});

test("a command given a Sentinel exits 6 with that line, no stack", async () => {
  const r = await runCli("info", ["--prefix", testPrefix()], { env: { REDIS_URL: url } });
  expect(r.code).toBe(6);
  expect(r.stderr).toContain(`${url} is a Sentinel, not a Redis server`);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
});
