// A redis:// URL of one node of a Redis Cluster (redis+cluster:// forgotten): each command for a
// slot of another master is answered MOVED, which every command showed as an unexpected error
// with its stack (exit 70). The connection is refused as it opens, in one line naming the URL
// to give instead (exit 6); a cluster of one master, which serves every key, is still taken.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClient } from "redis";
import { ConnectError } from "../lib/errors.ts";
import { connect } from "../lib/redis/connect.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { runCli, testPrefix } from "./helpers.ts";

let several: LocalCluster;
let single: LocalCluster;

beforeAll(async () => {
  [several, single] = await Promise.all([
    startCluster({ masters: 2 }),
    startCluster({ masters: 1 }),
  ]);
  // A user with a password on the first node: the line masks it.
  const c = createClient({ RESP: 2, socket: { host: "127.0.0.1", port: several.nodes[0]!.port } });
  await c.connect();
  await c.sendCommand(["ACL", "SETUSER", "bob", "on", ">hunter2", "~*", "&*", "+@all"]);
  c.destroy();
});

afterAll(async () => {
  await Promise.all([several?.stop(), single?.stop()]);
});

test("connect refuses a redis:// URL of a node of a cluster of several masters, in one line", async () => {
  const port = several.nodes[0]!.port;
  const err = await connect(`redis://bob:hunter2@127.0.0.1:${port}/0`).catch((e) => e);
  expect(err).toBeInstanceOf(ConnectError);
  expect(err.message).toBe(
    `Redis at redis://bob:***@127.0.0.1:${port}/0 is a node of a Redis Cluster of 2 masters: give the cluster's nodes as redis+cluster://bob:***@127.0.0.1:${port}[,host:port…] (docs/cluster.md)`,
  );
});

test("a command given such a URL exits 6 with that line, no stack", async () => {
  const port = several.nodes[1]!.port;
  const url = `redis://127.0.0.1:${port}`;
  for (const args of [["info"], ["trigger", "--url", "https://example.org/", "--queue", "q"]]) {
    const [name, ...rest] = args as [string, ...string[]];
    const r = await runCli(name, [...rest, "--prefix", testPrefix()], { env: { REDIS_URL: url } });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`${url} is a node of a Redis Cluster of 2 masters`);
    expect(r.stderr).not.toContain("unexpected error");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  }
});

test("a cluster of one master, which serves every slot, is still taken through redis://", async () => {
  const client = await connect(`redis://127.0.0.1:${single.nodes[0]!.port}`);
  try {
    expect(await client.sendCommand(["SET", `${testPrefix()}:k`, "v"])).toBe("OK");
  } finally {
    client.destroy();
  }
});
