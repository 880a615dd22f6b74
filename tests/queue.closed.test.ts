// A Queue after close(): every call is refused at once with InputError ("this Queue is closed"),
// none opens a connection (one opened then is no one's and keeps the host alive); a wait under
// way when close() comes ends then, refused the same way, not after its full timeoutMs.
import { expect, test } from "bun:test";
import { InputError } from "../lib/errors.ts";
import { untilAborted } from "../lib/queue/until-aborted.ts";
import { clientList, openQueue, rawRedis, testPrefix, until } from "./helpers.ts";

const CLOSED = /this Queue is closed/;

/** The waiters' connections Redis has now (named courier-waiter: lib/queue/queue.ts). */
const waiterCount = async (r: Parameters<typeof clientList>[0]) =>
  (await clientList(r)).split("\n").filter((l) => l.includes("courier-waiter")).length;

test("calls after close() reject at once, and open no connection", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  const q = await openQueue({ prefix });
  const id = await q.enqueue("t", 1);
  await q.close();
  const before = await waiterCount(r);
  // A short timeout: a wait let through would end, with its job pending, not be refused.
  await expect(q.waitForJobs([id], { timeoutMs: 50 })).rejects.toThrow(CLOSED);
  await expect(q.waitForJobs([id], { timeoutMs: 50 })).rejects.toThrow(InputError);
  await expect(q.enqueue("t", 1)).rejects.toThrow(CLOSED);
  await expect(q.getJob(id)).rejects.toThrow(CLOSED);
  await expect(q.getJob(id)).rejects.toThrow(InputError); // not "Redis is unreachable"
  await expect(q.cancel([id])).rejects.toThrow(CLOSED);
  await expect(q.enqueueMany([{ task: "t" }])).rejects.toThrow(CLOSED);
  // Nothing to send is refused too (R113: these resolved with nothing).
  await expect(q.enqueueMany([])).rejects.toThrow(CLOSED);
  await expect(q.enqueueStream([]).next()).rejects.toThrow(CLOSED);
  expect(() => q.events()).toThrow(CLOSED);
  expect(await waiterCount(r)).toBe(before);
});

test("close() during a wait ends it: refused as closed, not left to run its timeout", async () => {
  const prefix = testPrefix();
  await using other = await openQueue({ prefix });
  const id = await other.enqueue("nobody-runs-this", 1);
  const q = await openQueue({ prefix });
  // The first look (another Queue's job: read before the blocking reads) tells onProgress.
  let looked!: () => void;
  const firstLook = new Promise<void>((resolve) => {
    looked = resolve;
  });
  // A wait close() does not end runs past the test's own time limit: failed, not timed.
  const wait = q.waitForJobs([id], { timeoutMs: 600_000, onProgress: () => looked() });
  const settled = wait.then(
    () => "resolved",
    (err: Error) => err,
  );
  await using r = await rawRedis();
  await firstLook; // its blocking connection is open: taken before the first look
  const before = await waiterCount(r);
  await q.close();
  const outcome = await settled;
  // Its blocking connection, in use when close() came, is closed too.
  await until(async () => (await waiterCount(r)) < before, "the wait's connection closed");
  expect(outcome).toBeInstanceOf(InputError);
  expect(String((outcome as Error).message)).toMatch(CLOSED);
});

test("a wait's own signal still ends it with its answer (pending), not the closed refusal", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  const id = await q.enqueue("nobody-runs-this", 1);
  const signal = AbortSignal.abort();
  const { pending } = await q.waitForJobs([id], { timeoutMs: 600_000, signal });
  expect(pending).toEqual([id]);
});

test("close() while a wait's connection is still opening: closed as it opens, the wait refused", async () => {
  await using r = await rawRedis();
  const q = await openQueue({ prefix: testPrefix() });
  const id = await q.enqueue("nobody-runs-this", 1);
  const before = await waiterCount(r);
  // No await between: the wait is opening its blocking connection when close() runs.
  const wait = q.waitForJobs([id], { timeoutMs: 50 });
  await q.close();
  await expect(wait).rejects.toThrow(CLOSED);
  await until(async () => (await waiterCount(r)) <= before, "the wait's connection closed");
});

// R113's leftover: an enqueueStream whose source stalls noticed close() only at its next send,
// so a host that closed its Queue at shutdown kept waiting on the stream for ever.
test("an enqueueStream waiting on a stalled source ends on close(), refused as closed", async () => {
  // Batches of one job: the first goes out (and is yielded) without waiting for a second.
  const q = await openQueue({ prefix: testPrefix(), enqueueBatchSize: 1 });
  let stall: () => void = () => {};
  async function* source() {
    yield { task: "t", payload: 1 };
    await new Promise<void>((resolve) => {
      stall = resolve; // released after the test, so the source's generator ends too
    });
  }
  const stream = q.enqueueStream(source());
  const first = await stream.next();
  expect(first.done).toBe(false);
  const second = stream.next();
  second.catch(() => {});
  await q.close();
  const ended = await Promise.race([
    second.then(
      () => "resolved",
      (err: unknown) =>
        err instanceof InputError && CLOSED.test(err.message) ? "closed" : String(err),
    ),
    Bun.sleep(5_000).then(() => "still pending after 5 s"),
  ]);
  stall();
  expect(ended).toBe("closed");
});

// wrapping the source (for close()) kept enqueueStream from closing it when the stream
// ended early, and a source whose return() rejected made an unhandled rejection at close().
test("enqueueStream closes its source when it ends early: a break, or a refused spec", async () => {
  await using q = await openQueue({ prefix: testPrefix(), enqueueBatchSize: 1 });
  const closed: string[] = [];
  async function* source(name: string, bad = false) {
    try {
      yield { task: "t", payload: 1 };
      yield bad ? { task: "" } : { task: "t", payload: 2 };
      yield { task: "t", payload: 3 };
    } finally {
      closed.push(name);
    }
  }
  for await (const _ of q.enqueueStream(source("break"))) break;
  const refused = (async () => {
    for await (const _ of q.enqueueStream(source("refused", true))) {
      // the first batch is enqueued; the second refuses the stream
    }
  })();
  await expect(refused).rejects.toThrow();
  await until(() => closed.length === 2, "both sources closed");
  expect(closed.sort()).toEqual(["break", "refused"]);
});

test("close() with a step pending on a source whose return() rejects: refused as closed, nothing unhandled", async () => {
  const q = await openQueue({ prefix: testPrefix() });
  let returned = 0;
  let asked = 0;
  const source: AsyncIterable<{ task: string }> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        asked++;
        return new Promise<IteratorResult<{ task: string }>>(() => {}); // never answers
      },
      return: () => {
        returned++;
        return Promise.reject(new Error("return() failed"));
      },
    }),
  };
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    const first = q.enqueueStream(source).next();
    first.catch(() => {});
    await until(() => asked > 0, "the source asked for its first spec");
    await q.close();
    await expect(first).rejects.toThrow(CLOSED);
    expect(returned).toBe(0); // its step never settled: return() waits for it
    // The same return() called when a stream ends early (a break): its rejection is dropped.
    await using q2 = await openQueue({ prefix: testPrefix(), enqueueBatchSize: 1 });
    const answering: AsyncIterable<{ task: string }> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ done: false, value: { task: "t" } }),
        return: () => {
          returned++;
          return Promise.reject(new Error("return() failed"));
        },
      }),
    };
    for await (const _ of q2.enqueueStream(answering)) break;
    await until(() => returned === 1, "return() called");
    await Bun.sleep(10);
    expect(unhandled).toEqual([]);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

// What enqueueStream's source wrapper (lib/queue/until-aborted.ts) must keep of for-await's
// ways: an async iterator's steps may be any thenable, and a step that throws has ended the
// source, which is not asked to return then.
test("untilAborted: thenable steps are awaited; a source whose step threw is not asked to return", async () => {
  let i = 0;
  const thenables = {
    [Symbol.asyncIterator]: () => ({
      next: () => ({
        // biome-ignore lint/suspicious/noThenProperty: a thenable step is what this test is about
        then: (ok: (v: IteratorResult<number>) => void) =>
          ok(i < 3 ? { done: false, value: i++ } : { done: true, value: undefined }),
      }),
    }),
  } as unknown as AsyncIterable<number>;
  const never = new AbortController().signal;
  const seen: number[] = [];
  for await (const v of untilAborted(thenables, never, () => new Error("aborted"))) seen.push(v);
  expect(seen).toEqual([0, 1, 2]);
  let returned = 0;
  const throwing: Iterable<number> = {
    [Symbol.iterator]: () => ({
      next: () => {
        throw new Error("boom");
      },
      return: () => {
        returned++;
        return { done: true, value: undefined };
      },
    }),
  };
  const run = (async () => {
    for await (const _ of untilAborted(throwing, never, () => new Error("aborted"))) {
      // nothing is yielded
    }
  })();
  await expect(run).rejects.toThrow("boom");
  expect(returned).toBe(0);
});
