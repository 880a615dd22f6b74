// A free of a key's running slot that fails on the connection (docs/internals.md, "Rate limits")
// is tried again, and the waiter its lost call may have woken is woken again, first. Dropped,
// as it was, a connection blip as a keyed job ended left the key's next waiter to its fallback
// (the slot's expiry: the job's time limit + 6 s, 186 s by default) though Redis was back a
// moment later, and the waiter behind it ran first. Against the real Redis of tests/preload.ts.
import { expect, test } from "bun:test";
import { limitKeys, limitWokenPrefix } from "../lib/engine/keys.ts";
import { freeSlots, reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { scripts } from "../lib/engine/lua.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { QueueLimits } from "../lib/worker/queue-limits.ts";
import { type EngineQueue, engineQueue } from "./fixtures/plant.ts";
import { logRecorder, oneShardFile, until } from "./helpers.ts";

oneShardFile();

const PREFIX_OF = (v: EngineQueue) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const o = { horizonMs: 1000, shard: 0 };
const ask = (jobId: string) => ({ jobId, limitKey: "h", slotMs: 186_000 });

/** Key concurrency 1: A runs in the key's slot, B then C wait for it. */
async function aRunsBAndCWait(v: EngineQueue) {
  await writeLimits(v.client, PREFIX_OF(v), "q", { keyConcurrency: 1 });
  const lk = limitKeys(PREFIX_OF(v), "q");
  const got = await reserveSlots(v.client, lk, o, ["A", "B", "C"].map(ask));
  expect(got.map((g) => g.kind)).toEqual(["start", "hold", "hold"]);
  return lk;
}

/** A connection whose first limit-done.lua call runs and loses its reply (a dropped socket). */
function losingFirstFree(client: Redis): Redis {
  const { sha, source } = scripts.limitDone;
  let armed = true;
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== "sendCommand") return Reflect.get(target, prop, receiver);
      return async (args: readonly string[]) => {
        const reply = await target.sendCommand(args);
        if (armed && (args[1] === sha || args[1] === source)) {
          armed = false;
          throw new Error("Socket closed unexpectedly");
        }
        return reply;
      };
    },
  });
}

test("a free tried again names the waiter its lost call woke, not the one behind it", async () => {
  await using v = await engineQueue();
  const lk = await aRunsBAndCWait(v);
  // A's end frees the slot and wakes B; its reply is lost, so B is never moved.
  const lost = await freeSlots(v.client, lk, [{ jobId: "A", limitKey: "h" }]);
  expect(lost.map((w) => w.jobId)).toEqual(["B"]);
  // Tried again: A's slot is free already; B, marked woken, is named again, and takes the slot.
  const again = await freeSlots(
    v.client,
    lk,
    [{ jobId: "A", limitKey: "h" }],
    [],
    undefined,
    [],
    ["h"],
  );
  expect(again.map((w) => w.jobId)).toEqual(["B"]);
});

test("a worker's free that lost its reply is tried again: the woken waiter is moved", async () => {
  await using v = await engineQueue();
  const lk = await aRunsBAndCWait(v);
  const client = losingFirstFree(v.client);
  const log = logRecorder();
  const watch = { limits: { rate: null, keyConcurrency: 1, keyRate: null }, holdsUntil: 0 };
  const limits = new QueueLimits(
    lk,
    watch,
    () => v.k,
    () => client,
    log,
  );
  limits.ended({ jobId: "A", limitKey: "h" });
  // B is not in its delayed set here (as between limit.lua and hold.lua): its wake leaves the
  // marker that sends it back at once. C, behind it, is not woken.
  const marker = (id: string) => v.r.sendCommand(["EXISTS", limitWokenPrefix(v.k) + id]);
  await until(async () => Number(await marker("B")) === 1, "B woken again", 5_000);
  expect(Number(await marker("C"))).toBe(0);
  expect(log.events()).toContain("could not free rate-limit slots (they free themselves later)");
  await limits.settled();
});
