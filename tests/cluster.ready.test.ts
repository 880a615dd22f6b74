// A blocking cluster client opens its node connections lazily, as its reads reach each node
// (lib/redis/cluster.ts). A connection still opening for the first time is no lost connection:
// the client stays ready meanwhile, or a worker's /healthz (Worker.ready) would answer 503 now
// and then while it reads every shard normally. Needs a cluster: the cluster pass only.
import { expect, test } from "bun:test";
import { shardKeys } from "../lib/engine/keys.ts";
import { connect } from "../lib/redis/connect.ts";
import { keySlot } from "../lib/redis/slot.ts";
import { rawRedis, redisUrl, testPrefix } from "./helpers.ts";

const onCluster = process.env.COURIER_TEST_CLUSTER === "1";

/** One key per master (the shards of a 6-shard queue are spread over every master). */
async function keyPerMaster(): Promise<string[]> {
  await using r = await rawRedis();
  const ranges = (await r.sendCommand(["CLUSTER", "SLOTS"])) as [
    number,
    number,
    [string, number],
  ][];
  const byPort = new Map<number, string>();
  for (const { stream } of shardKeys(testPrefix(), "q", 6)) {
    const slot = keySlot(stream);
    const port = ranges.find(([from, to]) => slot >= Number(from) && slot <= Number(to))![2][1];
    byPort.set(Number(port), stream);
  }
  return [...byPort.values()];
}

test.skipIf(!onCluster)(
  "a blocking cluster client stays ready while it opens a node connection",
  async () => {
    const keys = await keyPerMaster();
    expect(keys).toHaveLength(3);
    // Connected to the one node that told it the layout; the others are opened as reads reach them.
    const client = await connect(redisUrl(), { blocking: true });
    try {
      for (const key of keys) {
        const sent = client.sendCommand(["EXISTS", key]);
        expect(client.isReady).toBe(true); // a first connection to that node may be opening now
        await sent;
        expect(client.isReady).toBe(true);
      }
    } finally {
      client.destroy();
    }
  },
);
