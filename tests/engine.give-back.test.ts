// give-back.lua (lib/engine/give-back.ts): a prefetched entry given back unstarted, only by the
// start that holds the worker's name (as release.lua: docs/internals.md, "A name taken over").
import { expect, test } from "bun:test";
import { giveBackEntries } from "../lib/engine/give-back.ts";
import { deliver, engineQueue, pendingRow, plant } from "./fixtures/plant.ts";

test("a name another start holds: nothing given back, every entry `gone`, still pending", async () => {
  await using v = await engineQueue();
  await plant(v, { i: "J1" });
  const [entry] = await deliver(v, "w1");
  await v.r.sendCommand(["HSET", v.k.worker("w1"), "start", "later-start"]);
  expect(await giveBackEntries(v.client, v.k, "w1", [entry!], "this-start")).toEqual(["gone"]);
  expect((await pendingRow(v, entry!))?.owner).toBe("w1");
  expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(1);
});

test("this start's name (or no hash): the entry goes back to the stream", async () => {
  await using v = await engineQueue();
  await plant(v, { i: "J1" });
  const [entry] = await deliver(v, "w1");
  await v.r.sendCommand(["HSET", v.k.worker("w1"), "start", "this-start"]);
  expect(await giveBackEntries(v.client, v.k, "w1", [entry!], "this-start")).toEqual(["back"]);
  expect(await pendingRow(v, entry!)).toBeNull();
  await plant(v, { i: "J2" });
  const [other] = await deliver(v, "w2");
  expect(await giveBackEntries(v.client, v.k, "w2", [other!], "any")).toEqual(["back"]);
});
