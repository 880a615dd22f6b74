// The orphan sweep (lib/worker/orphans.ts) and a producer that is slow but alive: every step of
// the producer moves its child's `registering` score, so the sweep takes over only after a whole
// grace of silence; a producer whose child the sweep took over is told (InputError), and its
// late steps keep no parent's outcome (docs/internals.md, "Dependencies and batches").
import { expect, test } from "bun:test";
import { createChild, listParents } from "../lib/engine/child.ts";
import { dependOn, LOOK_MOST_MS } from "../lib/engine/depend.ts";
import { scripts } from "../lib/engine/lua.ts";
import { ConnectError, InputError } from "../lib/errors.ts";
import { createLogger } from "../lib/log.ts";
import { parentsHash, registerChild } from "../lib/queue/depends.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { FlowDrain } from "../lib/worker/flows.ts";
import { sweepOrphans } from "../lib/worker/orphans.ts";
import { deliverJob, drainAll, finishJob, TELL } from "./fixtures/flows.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

const client = (r: unknown) => r as Parameters<typeof drainAll>[0];

async function created(q: Queue, id: string, parents: string[]) {
  await using r = await rawRedis();
  const job = { id, task: "cb", payload: "null", maxAttempts: 1 };
  const list = { count: parents.length, hash: parentsHash(parents) };
  expect((await createChild(client(r), keysOf(q, id), job, "run", list)).created).toBe(true);
}

async function sweepAll(q: Queue, graceMs?: number) {
  await using r = await rawRedis();
  for (const k of shardsOf(q)) await sweepOrphans(client(r), k, shardsOf(q), TELL, graceMs);
}

async function runJob(q: Queue, id: string) {
  await using r = await rawRedis();
  const { k, entry } = await deliverJob(client(r), q, id);
  await finishJob(client(r), k, entry);
  await drainAll(client(r), q);
}

/** The child's `registering` score set `ms` back, as if its record was written that long ago. */
async function agedBy(q: Queue, id: string, ms: number) {
  await using r = await rawRedis();
  const [s] = (await r.sendCommand(["TIME"])) as [string, string];
  await r.sendCommand(["ZADD", keysOf(q, id).registering, "XX", String(Number(s) * 1000 - ms), id]);
}

test("a producer past the grace since the record but listing still: the sweep leaves its child", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const parents = [await q.enqueue("t", {}), await q.enqueue("t", {})];
  await created(q, "cb-live", parents);
  await agedBy(q, "cb-live", 120_000);
  await listParents(client(r), keysOf(q, "cb-live"), "cb-live", 0, parents.slice(0, 1));
  await sweepAll(q); // the default grace: the first chunk was just listed
  expect((await q.getJob("cb-live"))?.status).toBe("waiting-for-parents");
  await registerChild(client(r), shardsOf(q), "cb-live", parents, 1, TELL);
  for (const p of parents) await runJob(q, p);
  expect((await q.getJob("cb-live"))?.status).toBe("queued");
});

test("a producer whose child the sweep failed part-way is told, not answered created", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const parents = [await q.enqueue("t", {}), await q.enqueue("t", {})];
  await created(q, "cb-late", parents);
  await listParents(client(r), keysOf(q, "cb-late"), "cb-late", 0, parents.slice(0, 1));
  await sweepAll(q, 0); // silent past the grace: failed, never registered
  expect((await q.getJob("cb-late"))?.status).toBe("failed");
  const going = registerChild(client(r), shardsOf(q), "cb-late", parents, 1, TELL);
  await expect(going).rejects.toBeInstanceOf(InputError);
  await expect(going).rejects.toThrow("job cb-late is no longer waiting for its parents (failed)");
});

test("a producer whose child the sweep registered and that ended since keeps no parent outcome", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const p = await q.enqueue("t", {});
  await runJob(q, p);
  await created(q, "cb-ended", [p]);
  await listParents(client(r), keysOf(q, "cb-ended"), "cb-ended", 0, [p]);
  await sweepAll(q, 0); // the producer stalled before its depend.lua 'add': the sweep goes on
  await runJob(q, "cb-ended");
  await drainAll(client(r), q); // the child's parents let go of it
  const pk = keysOf(q, p);
  expect(Number(await r.sendCommand(["PTTL", pk.resultPrefix + p]))).toBeGreaterThan(0);
  const going = registerChild(client(r), shardsOf(q), "cb-ended", [p], 1, TELL);
  await expect(going).rejects.toThrow("job cb-ended is no longer waiting for its parents");
  await drainAll(client(r), q);
  expect(Number(await r.sendCommand(["PTTL", pk.resultPrefix + p]))).toBeGreaterThan(0);
  expect(await r.sendCommand(["EXISTS", pk.holdsPrefix + p])).toBe(0);
});

test("a depend.lua 'add' landing long after its producer's look holds nothing and keeps nothing", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const p = await q.enqueue("t", {});
  await runJob(q, p);
  const pk = keysOf(q, p);
  const [s] = (await r.sendCommand(["TIME"])) as [string, string];
  const looked = Number(s) * 1000 - LOOK_MOST_MS - 1000; // stalled between the look and the add
  expect(await dependOn(client(r), pk, "add", "cb-stale", [p], looked)).toBe("late");
  expect(Number(await r.sendCommand(["PTTL", pk.resultPrefix + p]))).toBeGreaterThan(0);
  expect(await r.sendCommand(["EXISTS", pk.holdsPrefix + p, pk.dependentsPrefix + p])).toBe(0);
  expect(await dependOn(client(r), pk, "add", "cb-stale", [p], Number(s) * 1000)).toEqual(["F"]);
  expect(await r.sendCommand(["PTTL", pk.resultPrefix + p])).toBe(-1); // a fresh look holds it
});

test("a sweep that Redis refuses is logged and the drain of ended parents still runs", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const p = await q.enqueue("t", {});
  const child = await q.enqueue("t", {}, { dependsOn: [p] });
  const { k, entry } = await deliverJob(client(r), q, p);
  await finishJob(client(r), k, entry);
  await r.sendCommand(["SET", k.registering, "hand edit"]); // the sweep's script refuses it
  const lines: string[] = [];
  const log = createLogger("human", (line) => lines.push(line));
  await new FlowDrain(() => client(r), k, shardsOf(q), TELL, log).drain();
  expect(lines.join("\n")).toContain("orphan sweep failed");
  expect((await q.getJob(child))?.status).toBe("queued"); // told on its shard, whichever
  expect(await r.sendCommand(["ZCARD", k.endedParents])).toBe(0);
});

/** A client whose depend.lua 'add' calls carry a look `ms` older than the producer's (a stall). */
function stalling(r: unknown, ms: number, times: number) {
  const raw = client(r);
  let left = times;
  const sendCommand = (args: string[]) => {
    const add = args[0] === "EVALSHA" && args[1] === scripts.depend.sha && args[6] === "add";
    if (add && args[13] !== "" && left-- > 0) args = args.with(13, String(Number(args[13]) - ms));
    return raw.sendCommand(args);
  };
  return new Proxy(raw, {
    get: (t, key) => (key === "sendCommand" ? sendCommand : Reflect.get(t, key)),
  });
}

test("a producer whose 'add' landed late looks again and goes on; late every time, it stops", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const p = await q.enqueue("t", {});
  await runJob(q, p);
  for (const id of ["cb-slow", "cb-never"]) {
    await created(q, id, [p]);
    await listParents(client(r), keysOf(q, id), id, 0, [p]);
  }
  const once = stalling(r, LOOK_MOST_MS, 1);
  await registerChild(once, shardsOf(q), "cb-slow", [p], 1, TELL);
  expect((await q.getJob("cb-slow"))?.status).toBe("queued");
  const always = stalling(r, LOOK_MOST_MS, 1000);
  const going = registerChild(always, shardsOf(q), "cb-never", [p], 1, TELL);
  await expect(going).rejects.toBeInstanceOf(ConnectError);
  await expect(going).rejects.toThrow("its enqueue stopped part-way");
  expect((await q.getJob("cb-never"))?.status).toBe("waiting-for-parents"); // left to the sweep
});
