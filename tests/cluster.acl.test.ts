// README's "Redis ACL" rules on a real 3+3 cluster: with the users created on every node from
// README's own block, a producer, a worker and `info` do their job on a queue of 6 shards; a
// user without `+cluster|slots` (the slot map, which node-redis reads first) is refused with one
// line naming the rule.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createClient } from "redis";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { ROOT, runCli, testPrefix } from "./helpers.ts";

type Role = "producer" | "worker" | "admin";

let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await startCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

/** README's `ACL SETUSER courier-<role> …` lines of a role, as argument lists. */
function readmeRules(role: Role): string[][] {
  const readme = readFileSync(resolve(ROOT, "README.md"), "utf8");
  return readme.split("\n").flatMap((line) => {
    const m = /^ACL SETUSER courier-(producer|worker|admin) (.*)$/.exec(line);
    return m && m[1] === role ? [m[2]!.trim().split(/\s+/)] : [];
  });
}

/** A user with the role's README rules on every node (minus `without`); its cluster URL. */
async function clusterUser(role: Role, prefix: string, without: string[] = []): Promise<string> {
  const user = `courier-${role}-${prefix}`;
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  for (const { port } of cluster.nodes) {
    const c = createClient({ RESP: 2, socket: { host: "127.0.0.1", port } });
    await c.connect();
    try {
      for (const rule of readmeRules(role)) {
        const args = rule.map((a) =>
          a === ">PASSWORD" ? `>${password}` : a === "~courier:*" ? `~${prefix}:*` : a,
        );
        await c.sendCommand(["ACL", "SETUSER", user, ...args]);
      }
      if (without.length > 0) await c.sendCommand(["ACL", "SETUSER", user, ...without]);
    } finally {
      c.destroy();
    }
  }
  return cluster.seedUrl.replace("redis+cluster://", `redis+cluster://${user}:${password}@`);
}

test("with README's rules on every node, each role does its job on a sharded queue", async () => {
  const prefix = testPrefix();
  const as = async (role: Role) => [
    "--prefix",
    prefix,
    "--redis-url",
    await clusterUser(role, prefix),
  ];
  const url = ["--url", "https://example.org/"];
  const trigger = await runCli("trigger", [...(await as("producer")), ...url, "--shards", "6"]);
  expect(trigger.stderr).toBe("");
  expect(trigger.code).toBe(0);
  const result = await runCli("result", [...(await as("producer")), trigger.stdout.trim()]);
  expect(result.stderr).not.toContain("NOPERM");
  const worker = await runCli("worker", [...(await as("worker")), "--burst", "--concurrency", "1"]);
  expect(worker.stderr).not.toContain("refused");
  expect(worker.code).toBe(0);
  const info = await runCli("info", [...(await as("admin"))]);
  expect(info.code).toBe(0);
  expect(info.stdout).toContain("shards     6");
  expect(info.stdout).not.toMatch(/\s\?\n/); // every shard's node known
}, 60_000);

test("without +cluster|slots each role is refused in one line naming the rule", async () => {
  for (const [role, cli, args] of [
    ["producer", "trigger", ["--url", "https://example.org/"]],
    ["worker", "worker", ["--burst"]],
    ["admin", "info", []],
  ] as [Role, string, string[]][]) {
    const prefix = testPrefix();
    const url = await clusterUser(role, prefix, ["-cluster|slots"]);
    const r = await runCli(cli, ["--prefix", prefix, "--redis-url", url, ...args]);
    expect(r.code).toBe(6);
    expect(r.stderr.trimEnd().split("\n")).toEqual([
      `${cli}: Redis refused CLUSTER|SLOTS (NOPERM): the Redis user needs +cluster|slots; see "Redis ACL" in README.md for the rules each role needs`,
    ]);
  }
}, 60_000);
