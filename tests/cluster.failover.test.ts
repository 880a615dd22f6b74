// A master of a real 3+3 cluster killed (kill -9): the cluster client finds the promoted replica
// by itself, and a script call there succeeds although the replica never cached the script
// (NOSCRIPT → EVAL, lib/engine/lua.ts), with no manual loading. One failover per fresh cluster.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { runScript, script } from "../lib/engine/lua.ts";
import { isTransient } from "../lib/redis/cause.ts";
import { destroy } from "../lib/redis/close.ts";
import { waitReplicas } from "../lib/redis/cluster.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { onPort } from "./fixtures/on-port.ts";
import { testPrefix, until } from "./helpers.ts";

let cluster: LocalCluster;
let client: Redis;
/** What the client told its owner (a worker's Outage): connection lost, connection back. */
const told: string[] = [];

beforeAll(async () => {
  cluster = await startCluster({ fullCoverage: false });
  client = await connect(cluster.seedUrl, {
    persistent: true,
    onError: () => told.push("lost"),
    onReady: () => told.push("back"),
  });
});

afterAll(async () => {
  if (client) destroy(client);
  await cluster?.stop();
});

test("a script runs on the promoted replica of a killed master, its cache empty", async () => {
  const incr = script("failover-test", "return redis.call('INCR', KEYS[1])", 1);
  const key = `${testPrefix()}:{fo}:n`;
  expect(await runScript(client, incr, [key], [])).toBe(1); // cached on the master now
  const { port: master } = await cluster.masterOf(key);
  expect(await onPort(master, ["SCRIPT", "EXISTS", incr.sha])).toEqual([1]);
  expect(await waitReplicas(client, key, 1, 5_000)).toBe(1); // the replica has the INCR

  await cluster.kill(master);
  const { port: promoted } = await cluster.masterOf(key);
  expect(promoted).not.toBe(master);
  expect(await onPort(promoted, ["SCRIPT", "EXISTS", incr.sha])).toEqual([0]);

  // The dead master's connection fails the first calls (reset, offline) until the client has
  // the new layout; those are retried, as every caller does. NOSCRIPT must never surface.
  const errors: string[] = [];
  let value: unknown;
  for (const deadline = Date.now() + 10_000; value === undefined && Date.now() < deadline; ) {
    try {
      value = await runScript(client, incr, [key], []);
    } catch (err) {
      if (!isTransient(err)) throw err;
      errors.push(String((err as Error).message));
      await Bun.sleep(50);
    }
  }
  expect(value).toBe(2); // the replica had the first INCR
  expect(errors.filter((e) => e.includes("NOSCRIPT"))).toEqual([]);
  expect(await onPort(promoted, ["SCRIPT", "EXISTS", incr.sha])).toEqual([1]);

  // The owner heard of the loss, then of the return (the promoted node's connection ready), and
  // the client is ready again: the dead master's connection is gone from it.
  await until(() => client.isReady && told.includes("back"), "the client ready again");
  expect(told[0]).toBe("lost");
});
