// Bulk enqueue keeps memory bounded: at most a window of batches in flight, the input pulled
// only as fast as batches are acknowledged, outcomes in input order, nothing sent after a
// refusal. Checked by counting, never by timing: a fake sender for the window itself, and the
// real client's calls counted for Queue.enqueueMany and `trigger`'s line stream.
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { streamLines } from "../lib/cli/input.ts";
import { enqueueLines } from "../lib/cli/trigger.ts";
import { shardKeys, shardOf } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { chunksOf, inOrderWindow } from "../lib/queue/window.ts";
import { openQueue, rawRedis, settled, testPrefix } from "./helpers.ts";

/** A sender whose calls the test answers one by one, in any order it likes. */
function manualSender() {
  const calls: { batch: number; resolve: (v: number) => void; reject: (e: Error) => void }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = (batch: number) =>
    new Promise<number>((resolve, reject) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      calls.push({
        batch,
        resolve: (v) => {
          inFlight--;
          resolve(v);
        },
        reject: (e) => {
          inFlight--;
          reject(e);
        },
      });
    });
  return { calls, send, maxInFlight: () => maxInFlight };
}

function* counted(n: number, pulled: { n: number }) {
  for (let i = 0; i < n; i++) {
    pulled.n++;
    yield i;
  }
}

describe("inOrderWindow", () => {
  // A source that throws (a stalled one ended by a Queue's close()) while batches are in flight:
  // those batches may be enqueued, so they are reported first; the source's error after them.
  // The error was thrown at once, and the acknowledged batches were never reported.
  test("a source that throws: the batches in flight are yielded, then its error", async () => {
    const s = manualSender();
    let fail: (e: Error) => void = () => {};
    async function* source() {
      yield 1;
      yield 2;
      await new Promise<void>((_, reject) => {
        fail = reject;
      });
    }
    const seen: unknown[] = [];
    const run = (async () => {
      for await (const o of inOrderWindow(source(), s.send, 4)) seen.push(o.ok && o.value);
    })();
    // Both batches sent, the source waiting (bounded: a run that failed early stops it).
    for (let i = 0; i < 1_000 && s.calls.length < 2; i++) await Bun.sleep(0);
    expect(s.calls.length).toBe(2);
    fail(new Error("source gone"));
    await Bun.sleep(0);
    s.calls[1]!.resolve(20);
    s.calls[0]!.resolve(10);
    await expect(run).rejects.toThrow("source gone");
    expect(seen).toEqual([10, 20]);
  });

  test("never more than `size` in flight, input pulled only as batches are acknowledged", async () => {
    const s = manualSender();
    const pulled = { n: 0 };
    const seen: number[] = [];
    const run = (async () => {
      for await (const o of inOrderWindow(counted(100, pulled), s.send, 4)) {
        expect(o.ok).toBe(true);
        seen.push(o.batch);
        expect(pulled.n - seen.length).toBeLessThanOrEqual(4 + 1); // the window and one read
      }
    })();
    // Answer the newest call first each time: outcomes must still come out in input order.
    const over = settled(run);
    while (seen.length < 100 && !over.yes) {
      await Bun.sleep(0);
      const open = s.calls.splice(0);
      for (const c of open.reverse()) c.resolve(c.batch * 10);
    }
    await run;
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(s.maxInFlight()).toBe(4);
  });

  test("after a failure nothing more is sent; the batches in flight are still reported", async () => {
    const s = manualSender();
    const pulled = { n: 0 };
    const outcomes: { batch: number; ok: boolean }[] = [];
    let ended = false;
    const run = (async () => {
      for await (const o of inOrderWindow(counted(100, pulled), s.send, 3)) outcomes.push(o);
      ended = true;
    })();
    await Bun.sleep(0);
    const [first, second, third] = s.calls.splice(0);
    first!.resolve(0);
    second!.reject(new Error("refused"));
    third!.resolve(2); // sent before the refusal was known: it may have landed
    let sent = 3;
    const over = settled(run);
    while (!ended && !over.yes) {
      await Bun.sleep(0);
      for (const c of s.calls.splice(0)) {
        sent++;
        c.reject(new Error("refused too"));
      }
    }
    await run;
    expect(outcomes.map((o) => [o.batch, o.ok])).toEqual([
      [0, true],
      [1, false],
      [2, true],
      ...(sent === 4 ? [[3, false]] : []),
    ]);
    // Only the batch pulled when batch 0 was acknowledged, before the refusal was seen; at
    // most one more read, never sent.
    expect(sent).toBeLessThanOrEqual(4);
    expect(pulled.n).toBeLessThanOrEqual(sent + 1);
  });

  test("chunksOf groups lazily, the last group shorter", async () => {
    const items = [1, 2, 3, 4, 5, 6, 7].map((n) => ({ n }));
    const out: { n: number }[][] = [];
    for await (const c of chunksOf(items, 3)) out.push(c);
    expect(out.map((g) => g.map((i) => i.n))).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  test("chunksOf takes items one by one or in arrays: the same batches, an array cut across two", async () => {
    const item = (n: number) => ({ n });
    const [a, b, c, d, e, f, g] = [item(1), item(2), item(3), item(4), item(5), item(6), item(7)];
    const out: { n: number }[][] = [];
    for await (const x of chunksOf([[a, b], c, [d, e, f, g], []], 3)) out.push(x);
    expect(out).toEqual([[a, b, c], [d, e, f], [g]]);
  });
});

/** Counts the enqueue script calls waiting for a reply on the queue's connection. */
function countCalls(q: Queue) {
  const counts = { inFlight: 0, max: 0, calls: 0 };
  const send = q.client.sendCommand.bind(q.client);
  q.client.sendCommand = (async (args: string[], ...rest: unknown[]) => {
    // Enqueue batches only (not the one call that writes the queue's format).
    const script = args[0] === "EVALSHA" && args[1] === scripts.enqueue.sha;
    if (script) {
      counts.calls++;
      counts.max = Math.max(counts.max, ++counts.inFlight);
    }
    try {
      return await (send as (...a: unknown[]) => Promise<unknown>)(args, ...rest);
    } finally {
      if (script) counts.inFlight--;
    }
  }) as typeof q.client.sendCommand;
  return counts;
}

describe("bounded bulk enqueue against Redis", () => {
  test("enqueueMany with 50,000 jobs keeps at most 8 batches in flight, in order", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, enqueueBatchSize: 100 });
    await using r = await rawRedis();
    const counts = countCalls(q);
    const specs = Array.from({ length: 50_000 }, (_, i) => ({ task: "t", id: `j${i}` }));
    const done = await q.enqueueMany(specs);
    expect(done.map((d) => d.id)).toEqual(specs.map((s) => s.id));
    // A batch is one script call per shard it touches (6 shards in the cluster pass).
    const n = q.shards;
    let parts = 0;
    for (let i = 0; i < specs.length; i += 100) {
      parts += new Set(specs.slice(i, i + 100).map((s) => shardOf(s.id, n))).size;
    }
    expect(counts.calls).toBe(parts);
    expect(counts.max).toBeLessThanOrEqual(8 * n);
    let length = 0;
    for (const k of shardKeys(prefix, "default", n)) {
      length += Number(await r.sendCommand(["XLEN", k.stream]));
    }
    expect(length).toBe(50_000);
  });

  test("trigger's line stream: 50,000 lines read no further ahead than the window", async () => {
    await using q = await openQueue({ prefix: testPrefix(), enqueueBatchSize: 500 });
    const counts = countCalls(q);
    const path = join(tmpdir(), `courier-lines-${process.pid}-${Date.now()}.txt`);
    writeFileSync(path, Array.from({ length: 50_000 }, (_, i) => `https://e.org/${i}\n`).join(""));
    try {
      let read = 0;
      async function* lines() {
        for await (const group of streamLines(path)) {
          read += group.length;
          yield group;
        }
      }
      let acked = 0;
      let maxAhead = 0;
      const report = await enqueueLines(q, lines(), {
        task: "t",
        toJob: (text) => ({ payload: { url: text } }),
        onEnqueued: (jobs) => {
          expect(jobs[0]!.line).toBe(acked + 1); // in input order
          acked += jobs.length;
          maxAhead = Math.max(maxAhead, read - acked);
        },
        onRefused: () => {},
      });
      expect(report).toEqual({ enqueued: 50_000, refused: 0 });
      expect(counts.max).toBeLessThanOrEqual(8 * q.shards); // a call per shard of each batch
      // Read ahead: the batches in flight, the one being filled, and one 64 KiB chunk of the
      // file (some 3,500 lines here): far from the 50,000 read at once before.
      expect(maxAhead).toBeLessThanOrEqual(9 * 500 + 4_000);
    } finally {
      rmSync(path, { force: true });
    }
  });
});
