// A worker's look for canceled jobs reads the shard's `canceled` stream (canceledAfter,
// lib/engine/cancel.ts). One entry written by hand with a million commas in its `ids` made the
// read throw "Maximum call stack size exceeded" (a spread of its ids), at every look, so no later
// cancel reached a running job until 10,000 newer entries pushed it out.
import { expect, test } from "bun:test";
import { canceledAfter } from "../lib/engine/cancel.ts";
import { asClient, freshQueue } from "./fixtures/engine.ts";
import { pinShards, rawRedis } from "./helpers.ts";

pinShards(1); // a queue built by hand (freshQueue)

test("an entry of a million commas is read without failing; the cancels after it are seen", async () => {
  await using r = await rawRedis();
  const keys = await freshQueue(r);
  await r.sendCommand(["XADD", keys.canceled, "*", "ids", ",".repeat(1_100_000)]);
  await r.sendCommand(["XADD", keys.canceled, "*", "ids", "job-a,job-b"]);
  const read = await canceledAfter(asClient(r), keys, "0-0");
  expect(read.ids).toEqual(["job-a", "job-b"]);
});
