// Bulk enqueue is bounded by bytes as well as by count (R92 finding 3): a batch is cut at
// `enqueueBatchSize` jobs or `enqueueBatchBytes` of job data, a job heavier than that goes alone,
// and the batches unanswered weigh at most the window's bytes. Checked by counting what the
// sender was given and what it had not answered yet, never by timing.
import { describe, expect, test } from "bun:test";
import { defaults } from "../lib/config.ts";
import { scripts } from "../lib/engine/lua.ts";
import { resolveOptions } from "../lib/options.ts";
import { enqueueBatches } from "../lib/queue/bulk.ts";
import { cutBatches, jobBytes } from "../lib/queue/cut.ts";
import type { Enqueued, JobSpec, Prepared } from "../lib/queue/prepare.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { inOrderWindow } from "../lib/queue/window.ts";
import { openQueue, settled, testPrefix } from "./helpers.ts";

const item = (w: number, bad = false) => ({ w, bad });
type Item = ReturnType<typeof item>;
const weigh = (i: Item) => i.w;
const check = (i: Item) => {
  if (i.bad) throw new Error(`bad ${i.w}`);
  return i;
};

async function cuts(items: Iterable<Item | Item[]>, count: number, bytes: number) {
  const out = [];
  for await (const c of cutBatches(items, check, weigh, { count, bytes })) out.push(c);
  return out;
}

describe("enqueueBatchBytes", () => {
  test("1 MiB by default; a whole number of bytes from 1 up to 1 GiB", () => {
    expect(defaults.enqueueBatchBytes).toBe(1_048_576);
    expect(resolveOptions({ enqueueBatchBytes: 4_096 }).enqueueBatchBytes).toBe(4_096);
    for (const bad of [0, 1.5, 2 ** 30 + 1, Number.NaN]) {
      expect(() => resolveOptions({ enqueueBatchBytes: bad })).toThrow(
        `enqueueBatchBytes must be a whole number from 1 to 1073741824, got ${bad}`,
      );
    }
  });
});

describe("jobBytes", () => {
  test("a job weighs its data-sized fields, a long text in UTF-8 bytes", () => {
    const job = { task: "t", payload: '"x"', maxAttempts: 3 };
    expect(jobBytes(job)).toBe(1 + 3);
    expect(jobBytes({ ...job, id: "job-1", limitKey: "e.org", options: "{}" })).toBe(4 + 5 + 5 + 2);
    // 2,000 two-byte characters: counted (a long text may be 3 bytes a UTF-16 unit).
    expect(jobBytes({ ...job, payload: JSON.stringify("é".repeat(2_000)) })).toBe(1 + 4_002);
    // A short text is counted too: one byte an ASCII character, two or three for others.
    expect(jobBytes({ ...job, payload: JSON.stringify("e".repeat(100)) })).toBe(1 + 102);
    expect(jobBytes({ ...job, payload: JSON.stringify("é".repeat(100)) })).toBe(1 + 202);
    expect(jobBytes({ ...job, payload: '"字"', task: "任务" })).toBe(5 + 6);
  });

  test("a batch of short non-ASCII jobs cut at the bound holds no more than the bound (R98)", async () => {
    // 500 jobs of 1,000 CJK characters (3,000 bytes each in UTF-8): weighed by their length
    // they made one batch of 1.4 MiB under a 1 MiB bound.
    const specs = Array.from({ length: 500 }, () => ({ payload: "字".repeat(1_000) }));
    const prepare = (s: { payload: string }): Prepared => ({
      task: "t",
      payload: JSON.stringify(s.payload),
      maxAttempts: 1,
    });
    const bytes = 1024 * 1024;
    for await (const c of cutBatches(specs, prepare, jobBytes, { count: 500, bytes })) {
      const utf8 = c.jobs.reduce((n, j) => n + Buffer.byteLength(j.payload) + 1, 0);
      expect(c.jobs.length === 1 || utf8 <= bytes).toBe(true);
    }
  });
});

describe("cutBatches", () => {
  test("cuts at the count or the bytes, whichever comes first; a heavy item alone", async () => {
    const ws = [4, 4, 4, 1, 1, 1, 1, 20, 2, 9, 1];
    const out = await cuts(
      ws.map((w) => item(w)),
      3,
      10,
    );
    expect(out.map((c) => c.jobs.map((j) => j.w))).toEqual([
      [4, 4], // a third 4 would make 12
      [4, 1, 1], // the count
      [1, 1], // 20 does not fit beside them
      [20], // heavier than the bound: alone, not refused
      [2], // 9 would make 11
      [9, 1], // exactly the bound: cut at once
    ]);
    expect(out.map((c) => c.bytes)).toEqual([8, 6, 2, 20, 2, 10]);
    expect(out.flatMap((c) => c.items)).toEqual(ws.map((w) => item(w))); // order kept
    expect(out.every((c) => c.refused === undefined)).toBe(true);
  });

  test("items in arrays make the same batches", async () => {
    const out = await cuts([[item(4), item(4)], [], [item(4), item(1), item(1), item(1)]], 3, 10);
    expect(out.map((c) => c.jobs.map((j) => j.w))).toEqual([[4, 4], [4, 1, 1], [1]]);
  });

  test("a full batch goes before the next item comes (a slow pipe's big line)", async () => {
    async function* slow() {
      yield item(3);
      yield item(30);
      await new Promise(() => {}); // the pipe stays open, nothing more comes
    }
    const it = cutBatches(slow(), check, weigh, { count: 100, bytes: 10 });
    expect((await it.next()).value?.jobs).toEqual([item(3)]);
    expect((await it.next()).value?.jobs).toEqual([item(30)]);
  });

  test("an item its check refuses ends its batch, refused, and the input", async () => {
    const out = await cuts([item(1), item(2), item(3, true), item(4), item(5)], 10, 100);
    expect(out).toHaveLength(1);
    expect(out[0]!.items).toEqual([item(1), item(2), item(3, true)]);
    expect(String(out[0]!.refused?.error)).toBe("Error: bad 3");
  });
});

describe("the window's bytes", () => {
  test("the batches unanswered never weigh more than the bound; a heavier one goes alone", async () => {
    const open: { w: number; answer: () => void }[] = [];
    let unanswered = 0;
    let most = 0;
    const beside: number[][] = []; // what was in flight as each batch went
    const send = (w: number) =>
      new Promise<number>((resolve) => {
        // Alone, a batch may weigh anything; beside others, the window's 7 bytes at most.
        if (open.length > 0) most = Math.max(most, unanswered + w);
        beside.push(open.map((o) => o.w));
        unanswered += w;
        open.push({ w, answer: () => resolve(w) });
      });
    const ws = [3, 3, 3, 3, 20, 1, 1, 6, 1];
    const seen: number[] = [];
    const run = (async () => {
      const bound = { max: 7, of: (w: number) => w };
      for await (const o of inOrderWindow(ws, send, 4, bound)) if (o.ok) seen.push(o.value);
    })();
    let aloneHeavy = false;
    // Answers until every batch is seen, or the run ended short (its error is thrown below).
    const ended = settled(run);
    while (seen.length < ws.length && !ended.yes) {
      await Bun.sleep(0);
      if (open[0]?.w === 20) aloneHeavy = open.length === 1;
      const oldest = open.shift();
      if (!oldest) continue;
      unanswered -= oldest.w;
      oldest.answer();
    }
    await run;
    expect(seen).toEqual(ws);
    expect(most).toBeLessThanOrEqual(7);
    expect(most).toBeGreaterThan(0); // batches did go out together
    expect(aloneHeavy).toBe(true);
    // Answered batches leave the window: the last 1 goes out beside the 6.
    expect(beside.at(-1)).toContain(6);
  });

  test("enqueueBatches: jobs heavier than the batch bound go one call at a time", async () => {
    const sizes = [500, 50, 50, 500, 500, 10, 10, 10, 10, 10];
    const specs: JobSpec[] = sizes.map((n, i) => ({
      task: "t",
      id: `j${i}`,
      payload: "x".repeat(n),
    }));
    let unanswered = 0;
    let most = 0;
    const calls: number[][] = [];
    const pending: (() => void)[] = [];
    const sender = {
      batchSize: 500,
      batchBytes: 100,
      prepare: (s: JobSpec): Prepared => ({
        id: s.id,
        task: String(s.task),
        payload: JSON.stringify(s.payload),
        maxAttempts: 1,
      }),
      send: (batch: readonly Prepared[]) => {
        const bytes = batch.reduce((n, j) => n + jobBytes(j), 0);
        if (unanswered > 0) most = Math.max(most, unanswered + bytes);
        unanswered += bytes;
        calls.push(batch.map((j) => Number(j.id!.slice(1))));
        return new Promise<Enqueued[]>((resolve) =>
          pending.push(() => {
            unanswered -= bytes;
            resolve(batch.map((j) => ({ id: j.id!, created: true })));
          }),
        );
      },
    };
    const ids: string[] = [];
    const run = (async () => {
      for await (const o of enqueueBatches(specs, sender, { inFlight: 2 })) {
        expect(o.ok).toBe(true);
        if (o.ok) ids.push(...o.jobs.map((j) => j.id));
      }
    })();
    const ended = settled(run);
    while (ids.length < specs.length && !ended.yes) {
      await Bun.sleep(0);
      pending.shift()?.();
    }
    await run;
    expect(ids).toEqual(specs.map((s) => s.id!));
    // Job data: 1 (task) + 2 (id) + the payload's JSON (n + 2 quotes).
    expect(calls).toEqual([[0], [1], [2], [3], [4], [5, 6, 7, 8, 9]]);
    expect(most).toBeLessThanOrEqual(2 * 100); // the window: 2 batches of 100 bytes
  });
});

/** The enqueue script calls made on the queue's connection. */
function countCalls(q: Queue) {
  const counts = { calls: 0 };
  const send = q.client.sendCommand.bind(q.client);
  q.client.sendCommand = (async (args: string[], ...rest: unknown[]) => {
    if (args[0] === "EVALSHA" && args[1] === scripts.enqueue.sha) counts.calls++;
    return await (send as (...a: unknown[]) => Promise<unknown>)(args, ...rest);
  }) as typeof q.client.sendCommand;
  return counts;
}

describe("enqueueStream against Redis, cut by bytes", () => {
  test("jobs of varied sizes: calls cut by the bytes bound, ids and order kept", async () => {
    await using q = await openQueue({
      prefix: testPrefix(),
      enqueueBatchSize: 500,
      enqueueBatchBytes: 4_000,
    });
    const counts = countCalls(q);
    const sizes = [100, 3_000, 2_000, 10_000, 500, 500, 500, 500, 500, 500, 500, 500, 100];
    const specs = sizes.map((n, i) => ({ task: "t", id: `job-${i}`, payload: "y".repeat(n) }));
    const batches: string[][] = [];
    for await (const b of q.enqueueStream(specs)) batches.push(b.jobs.map((j) => j.id));
    const ids = (from: number, to: number) => specs.slice(from, to).map((s) => s.id);
    expect(batches).toEqual([ids(0, 2), ids(2, 3), ids(3, 4), ids(4, 11), ids(11, 13)]);
    // One call per batch (per shard it has jobs on, in the cluster pass).
    expect(counts.calls).toBeGreaterThanOrEqual(5);
    if (q.shards === 1) expect(counts.calls).toBe(5);
    for (const s of specs) expect((await q.getJob(s.id))?.payload).toBe(s.payload);
  });
});
