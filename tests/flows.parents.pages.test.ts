// A child's parents list read and handled a page at a time (R88 finding 7): the drain's let-go
// (lib/worker/holds.ts) and the orphan sweep's registration (lib/worker/orphans.ts) never hold
// more than one page of a child's parents, however long its list (a batch callback's parents
// are every job of its batch). With a small page: several pages, each handled before the next
// is read, and every parent handled once.
import { expect, test } from "bun:test";
import { createChild, listParents } from "../lib/engine/child.ts";
import { scripts } from "../lib/engine/lua.ts";
import { parentsHash } from "../lib/queue/depends.ts";
import type { Queue } from "../lib/queue/queue.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { letGo } from "../lib/worker/holds.ts";
import { sweepOrphans } from "../lib/worker/orphans.ts";
import { deliverJob, drainAll, finishJob, TELL } from "./fixtures/flows.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import { openQueue, type RawRedis, rawRedis, testPrefix } from "./helpers.ts";

const PARENTS = 11;
const PAGE = 3; // 11 parents: pages of 3, 3, 3 and 2

const client = (r: unknown) => r as Redis;

/** What the code under test sent: each LRANGE read, each depend.lua call with its parents. */
function recorder(r: RawRedis) {
  const ops: { op: string; parents: string[] }[] = [];
  const depend = scripts.depend;
  const recording = {
    sendCommand(c: string[]) {
      if (c[0] === "LRANGE") ops.push({ op: "read", parents: [] });
      const isDepend = c[1] === depend.sha || c[1] === depend.source;
      // EVALSHA sha 3 k1 k2 k3, then ARGV: the mode, 8 more, then the parents (ARGV[10..]).
      if (isDepend) ops.push({ op: c[6]!, parents: c.slice(15) });
      return r.sendCommand(c);
    },
  };
  return { client: client(recording), ops };
}

/** Parents sent by `op` calls: each once, no call above a page, the first before the last read. */
function expectPaged(ops: { op: string; parents: string[] }[], op: string, parents: string[]) {
  const calls = ops.filter((o) => o.op === op);
  expect(calls.flatMap((c) => c.parents).sort()).toEqual([...parents].sort());
  expect(Math.max(...calls.map((c) => c.parents.length))).toBeLessThanOrEqual(PAGE);
  expect(ops.filter((o) => o.op === "read")).toHaveLength(Math.ceil(PARENTS / PAGE));
  const lastRead = ops.findLastIndex((o) => o.op === "read");
  expect(ops.findIndex((o) => o.op === op)).toBeLessThan(lastRead);
}

async function finishedParents(q: Queue, r: RawRedis): Promise<string[]> {
  const parents: string[] = [];
  for (let i = 0; i < PARENTS; i++) parents.push(await q.enqueue("t", {}));
  for (const p of parents) {
    const { k, entry } = await deliverJob(client(r), q, p);
    await finishJob(client(r), k, entry);
  }
  await drainAll(client(r), q);
  return parents;
}

const pttl = async (r: RawRedis, q: Queue, id: string) =>
  Number(await r.sendCommand(["PTTL", keysOf(q, id).resultPrefix + id]));

test("the let-go: page by page, each parent let go of once, every outcome's TTL back", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const parents = await finishedParents(q, r);
  await q.enqueue("cb", {}, { id: "cb", dependsOn: parents });
  for (const p of parents) expect(await pttl(r, q, p)).toBe(-1); // held by cb

  const { client: c, ops } = recorder(r);
  await letGo(c, keysOf(q, "cb"), shardsOf(q), ["cb"], TELL, PAGE);
  expectPaged(ops, "letgo", parents);
  for (const p of parents) expect(await pttl(r, q, p)).toBeGreaterThan(0);
});

test("the orphan sweep: a listed child registered page by page, with every parent", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const parents = await finishedParents(q, r);
  const k = keysOf(q, "cb");
  const job = { id: "cb", task: "cb", payload: "null", maxAttempts: 1 };
  const list = { count: PARENTS, hash: parentsHash(parents) };
  expect((await createChild(client(r), k, job, "run", list)).created).toBe(true);
  await listParents(client(r), k, "cb", 0, parents); // its producer stopped after its lists

  const { client: c, ops } = recorder(r);
  expect(await sweepOrphans(c, k, shardsOf(q), TELL, 0, PAGE)).toBe(1);
  expectPaged(ops, "add", parents);
  for (const p of parents) {
    expect(await r.sendCommand(["SISMEMBER", keysOf(q, p).holdsPrefix + p, "cb"])).toBe(1);
  }
  expect((await q.getJob("cb"))?.status).toBe("queued"); // every parent had finished
});
