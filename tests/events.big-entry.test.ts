// An events entry naming more jobs than one read gives (lib/queue/event-read.ts readShard): it
// is read in parts, each part's position half-way through the entry, every job once and in
// order; and one naming millions (a corrupt entry) no longer hangs the reader (R2: spreading a
// million events into a push overflowed the stack, which the iterator retried for ever).
import { expect, test } from "bun:test";
import { queueKeys } from "../lib/engine/keys.ts";
import type { Position } from "../lib/queue/event-cursor.ts";
import { readShard } from "../lib/queue/event-read.ts";
import { asClient } from "./fixtures/engine.ts";
import { shardsOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

test("an entry naming more jobs than a read gives is read in parts, each job once", async () => {
  await using r = await rawRedis();
  const key = queueKeys(testPrefix(), "q").events;
  const e1 = String(
    await r.sendCommand(["XADD", key, "*", "type", "finished", "ids", "a,b,c,d,e,f,g"]),
  );
  const e2 = String(
    await r.sendCommand(["XADD", key, "*", "type", "failed", "id", "h,with,commas"]),
  );
  const reads: [string[], Position][] = [];
  let at: Position = { entry: "0-0", seen: 0 };
  for (let n = 0; n < 5; n++) {
    const { events, next } = await readShard(asClient(r), key, 0, at, 100, 3);
    reads.push([events.map((e) => e.event.id), next]);
    at = next;
  }
  expect(reads).toEqual([
    [["a", "b", "c"], { entry: e1, seen: 3 }],
    [["d", "e", "f"], { entry: e1, seen: 6 }],
    // The entry's last job, then the next entry (an `id` is one id, commas and all).
    [["g", "h,with,commas"], { entry: e2, seen: 0 }],
    [[], { entry: e2, seen: 0 }],
    [[], { entry: e2, seen: 0 }],
  ]);
  // Full at an entry's end: the next entries wait for the next read (the bound holds).
  const k2 = queueKeys(testPrefix(), "q").events;
  const singles: string[] = [];
  for (const id of ["s1", "s2", "s3"])
    singles.push(String(await r.sendCommand(["XADD", k2, "*", "type", "finished", "id", id])));
  const full = await readShard(asClient(r), k2, 0, { entry: "0-0", seen: 0 }, 100, 2);
  expect([full.events.map((e) => e.event.id), full.next]).toEqual([
    ["s1", "s2"],
    { entry: singles[1]!, seen: 0 },
  ]);
  // Each event's own position: half-way (the jobs seen so far) until the entry's last job.
  const { events } = await readShard(asClient(r), key, 0, { entry: "0-0", seen: 0 }, 100, 8);
  expect(events.map((e) => e.position)).toEqual([
    ...[1, 2, 3, 4, 5, 6].map((seen) => ({ entry: e1, seen })),
    { entry: e1, seen: 0 },
    { entry: e2, seen: 0 },
  ]);
});

test("an events entry naming two million jobs is read, not retried for ever", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const key = shardsOf(q)[0]!.events;
  await r.sendCommand(["XADD", key, "*", "type", "finished", "ids", "first"]);
  // Made in Redis: 2,000,000 ids, about 32 MB, never through this process' arguments.
  await r.sendCommand([
    "EVAL",
    "return redis.call('XADD', KEYS[1], '*', 'type', 'finished', 'ids', string.rep('x-1,', 2000000) .. 'last')",
    "1",
    key,
  ]);
  // A failed read is retried (a Redis outage); here any is the defect: said, and the end.
  const errors: unknown[] = [];
  const events = q.events({
    from: "start",
    onError: (err) => {
      errors.push(err);
      events.close();
    },
  });
  const got: string[] = [];
  for await (const e of events) {
    got.push(e.id);
    if (got.length === 3) break;
  }
  expect({ got, errors }).toEqual({ got: ["first", "x-1", "x-1"], errors: [] });
});
