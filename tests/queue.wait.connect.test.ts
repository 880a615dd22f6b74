// A wait's time limit bounds the whole call, opening its blocking connection included: a
// connect that hangs (a peer that accepts and never answers) is given up with the wait's
// deadline, not the connect limit's (lib/queue/waiters.ts), and the wait still looks once at
// its jobs on the queue's own connection, as a wait with no time left does: a job that has
// ended is reported ended, one still open pending.
import { expect, test } from "bun:test";
import { InputError } from "../lib/errors.ts";
import { asClient, runJob } from "./fixtures/engine.ts";
import { viaProxy } from "./fixtures/proxy.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, testPrefix, until } from "./helpers.ts";

test("a wait whose connection hangs opening ends at its timeout, having looked once", async () => {
  const { proxy, url } = viaProxy();
  try {
    await using q = await openQueue({ prefix: testPrefix(), redisUrl: url });
    await using r = await rawRedis();
    const done = await q.enqueue("t", 1);
    const open = await q.enqueue("t", 2);
    await runJob(asClient(r), keysOf(q, done), [{ worker: "w1", result: "4" }]); // the first
    proxy.stallNew(); // new connections accepted, never answered; the queue's own goes on
    const started = performance.now();
    const { ended, pending } = await q.waitForJobs([done, open], { timeoutMs: 300 });
    const took = performance.now() - started;
    expect(ended.get(done)).toMatchObject({ status: "finished", result: 4 });
    expect(pending).toEqual([open]);
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(2_000); // not the connect limit's 5 s
  } finally {
    proxy.close();
  }
});

test("a wait with no time left opens no connection: it looks once on the queue's", async () => {
  const { proxy, url } = viaProxy();
  try {
    await using q = await openQueue({ prefix: testPrefix(), redisUrl: url });
    await using r = await rawRedis();
    const id = await q.enqueue("t", 1);
    await runJob(asClient(r), keysOf(q, id), [{ worker: "w1", result: "4" }]);
    const before = proxy.accepted;
    const { ended, pending } = await q.waitForJobs([id], { timeoutMs: 0 });
    expect(ended.get(id)).toMatchObject({ status: "finished", result: 4 });
    expect(pending).toEqual([]);
    expect(proxy.accepted).toBe(before); // no connect begun only to be given up at once
  } finally {
    proxy.close();
  }
});

test("a wait whose Redis hangs altogether ends at its timeout, its jobs pending", async () => {
  const { proxy, url } = viaProxy();
  try {
    // Commands wait a minute for a reply: the look after the deadline must not wait that long.
    await using q = await openQueue({
      prefix: testPrefix(),
      redisUrl: url,
      commandTimeoutMs: 60_000,
    });
    const id = await q.enqueue("t", 1);
    proxy.stall(); // every connection, the queue's own too: nothing answers, nothing errors
    const started = performance.now();
    const { ended, pending } = await q.waitForJobs([id], { timeoutMs: 300 });
    const took = performance.now() - started;
    expect({ ended: ended.size, pending }).toEqual({ ended: 0, pending: [id] });
    expect(took).toBeLessThan(5_000); // the deadline and LAST_LOOK_MS, not the command limit
  } finally {
    proxy.close();
  }
});

test("a wait whose connection hangs opening ends when aborted, not at the connect limit", async () => {
  const { proxy, url } = viaProxy();
  try {
    await using q = await openQueue({ prefix: testPrefix(), redisUrl: url });
    const id = await q.enqueue("t", 1);
    proxy.stallNew(); // the wait's connect hangs; the queue's own connection goes on
    const stop = new AbortController();
    const started = performance.now();
    const waiting = q.waitForJobs([id], { timeoutMs: 60_000, signal: stop.signal });
    await until(() => proxy.accepted > 1, "the wait's connect begun");
    stop.abort();
    expect(await waiting).toEqual({ ended: new Map(), pending: [id] });
    expect(performance.now() - started).toBeLessThan(2_000); // not the connect limit's 5 s
    // close() ends another such wait as well: rejected as closed, at once.
    const again = q.waitForJobs([id], { timeoutMs: 60_000 }).catch((err: unknown) => err);
    const accepted = proxy.accepted;
    await until(() => proxy.accepted > accepted, "the second wait's connect begun");
    const closing = performance.now();
    await q.close();
    expect(await again).toBeInstanceOf(InputError);
    expect(performance.now() - closing).toBeLessThan(2_000);
  } finally {
    proxy.close();
  }
});
