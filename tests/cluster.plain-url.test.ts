// A redis:// URL of one node of a Redis Cluster (redis+cluster:// forgotten), or of its replica:
// each command for a slot another node serves is answered MOVED, which every command showed as
// an unexpected error with its stack (exit 70). It is one line naming the URL to give (exit 6);
// a queue whose slot the node serves works there, and a cluster of one master serves every key.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClient } from "redis";
import { queueKeys } from "../lib/engine/keys.ts";
import { connect } from "../lib/redis/connect.ts";
import { keySlot } from "../lib/redis/slot.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { runCli, testPrefix } from "./helpers.ts";

let several: LocalCluster;
let single: LocalCluster;

beforeAll(async () => {
  [several, single] = await Promise.all([
    startCluster({ masters: 2 }),
    startCluster({ masters: 1 }),
  ]);
});

afterAll(async () => {
  await Promise.all([several?.stop(), single?.stop()]);
});

/** The port of the node of `cluster` that does (or does not) serve `key`'s slot. */
async function nodeFor(cluster: LocalCluster, key: string, serves: boolean): Promise<number> {
  const c = createClient({ RESP: 2, socket: { host: "127.0.0.1", port: cluster.nodes[0]!.port } });
  await c.connect();
  try {
    const ranges = (await c.sendCommand(["CLUSTER", "SLOTS"])) as [
      number,
      number,
      [string, number],
    ][];
    const slot = keySlot(key);
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
    const other = ranges.map((r) => r[2][1]).find((p) => p !== owner)!;
    return serves ? owner : other;
  } finally {
    c.destroy();
  }
}

test("a command whose queue's slot another node serves exits 6 with one line naming the URL to give", async () => {
  const prefix = testPrefix();
  const port = await nodeFor(several, queueKeys(prefix, "q").stream, false);
  const url = `redis://127.0.0.1:${port}`;
  for (const args of [
    ["info", "--queue", "q"],
    ["trigger", "--url", "https://example.org/", "--queue", "q"],
  ]) {
    const [name, ...rest] = args as [string, ...string[]];
    const r = await runCli(name, [...rest, "--prefix", prefix], { env: { REDIS_URL: url } });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(
      /Redis answered MOVED \(slot \d+ is served by 127\.0\.0\.1:\d+\): this Redis is a node of a Redis Cluster; give the cluster's nodes as redis\+cluster:\/\/127\.0\.0\.1:\d+\[,host:port…\]/,
    );
    expect(r.stderr).not.toContain("unexpected error");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  }
});

test("a queue whose slot the node serves works through its redis:// URL", async () => {
  const prefix = testPrefix();
  const port = await nodeFor(several, queueKeys(prefix, "q").stream, true);
  const r = await runCli(
    "trigger",
    ["--url", "https://example.org/", "--queue", "q", "--prefix", prefix],
    { env: { REDIS_URL: `redis://127.0.0.1:${port}` } },
  );
  expect(r).toMatchObject({ code: 0, stderr: "" });
});

test("a cluster of one master, which serves every slot, is taken through redis://", async () => {
  const client = await connect(`redis://127.0.0.1:${single.nodes[0]!.port}`);
  try {
    expect(await client.sendCommand(["SET", `${testPrefix()}:k`, "v"])).toBe("OK");
  } finally {
    client.destroy();
  }
});
