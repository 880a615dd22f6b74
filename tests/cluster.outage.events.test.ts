// What a cluster client tells its owner (a worker's Outage: one line lost, one back) when a
// master of a real 3+3 cluster is killed and fails over: lost, then back once the failed
// master is out of the layout, nothing after; a client scoped to one key (a worker's shard:
// lib/redis/link.ts) hears only of its own node, so a failover elsewhere makes it re-read
// nothing. One failover per fresh cluster.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { destroy } from "../lib/redis/close.ts";
import { scopeEvents } from "../lib/redis/cluster.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { until } from "./helpers.ts";

let cluster: LocalCluster;
const clients: Redis[] = [];

beforeAll(async () => {
  cluster = await startCluster({ fullCoverage: false });
});

afterAll(async () => {
  for (const c of clients) destroy(c);
  await cluster?.stop();
});

/** A worker-like client (persistent) and what it was told, repeats folded. */
async function told(key?: string) {
  const heard: string[] = [];
  const say = (what: string) => heard.at(-1) !== what && heard.push(what);
  const client = await connect(cluster.seedUrl, {
    persistent: true,
    onError: () => say("lost"),
    onReady: () => say("back"),
  });
  clients.push(client);
  if (key !== undefined) scopeEvents(client, key);
  return { client, heard };
}

/** A key whose slot the master on `port` serves (tried among a few names). */
async function keyOn(port: number, other = false): Promise<string> {
  for (let i = 0; ; i++) {
    const key = `k${i}`;
    if (((await cluster.masterOf(key)).port === port) !== other) return key;
  }
}

test("a failover: lost then back, once; a client scoped elsewhere hears nothing", async () => {
  const victim = cluster.nodes[0]!.port;
  const [onVictim, elsewhere] = [await keyOn(victim), await keyOn(victim, true)];
  const all = await told();
  const mine = await told(onVictim);
  const other = await told(elsewhere);

  await cluster.kill(victim);
  // Commands on every client reach the promoted replica or their own master again.
  for (const { client } of [all, mine, other]) {
    await until(async () => {
      try {
        await client.sendCommand(["SET", onVictim, "1"]);
        await client.sendCommand(["SET", elsewhere, "1"]);
        return true;
      } catch {
        return false;
      }
    }, "commands answered after the failover");
  }
  await until(() => all.heard.at(-1) === "back" && mine.heard.at(-1) === "back", "back");
  expect(all.heard).toEqual(["lost", "back"]);
  expect(mine.heard).toEqual(["lost", "back"]);
  expect(other.heard).toEqual([]);
  for (const { client } of [all, mine, other]) expect(client.isReady).toBe(true);
}, 60_000);
