// A slow source's jobs are not held back for a full batch (lib/queue/linger.ts): a source that
// yields a few jobs and then waits has them sent once the batch has waited `lingerMs`, not once
// it has yielded `enqueueBatchSize` more. Sources here wait on gates the test opens, so what is
// checked is what goes out while a source waits; the only clock is the linger itself, and a
// batch that never goes out fails on a bound of seconds, not on a time measured.
import { describe, expect, test } from "bun:test";
import { InputError } from "../lib/errors.ts";
import { type Cut, cutBatches } from "../lib/queue/cut.ts";
import { openQueue, readUntil, spawnCli, testPrefix } from "./helpers.ts";

/** A gate an async source waits on until the test opens it. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

/** Yields `first`, waits for the gate, yields `then`. */
async function* waiting<T>(first: T[], g: { opened: Promise<void> }, then: T[]) {
  yield* first;
  await g.opened;
  yield* then;
}

/** What `p` gives within `ms`, or "not yet": a bound for a step that must come, not a timing. */
function within<T>(p: Promise<T>, ms: number): Promise<T | "not yet"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"not yet">((resolve) => {
    timer = setTimeout(() => resolve("not yet"), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const items = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ n: from + i }));
const bound = { count: 500, bytes: 1_000_000 };
const sizes = (cuts: Cut<{ n: number }, { n: number }>[]) => cuts.map((c) => c.items.length);

describe("cutBatches with a linger", () => {
  test("a source that waits: the batch so far goes out while it waits, the rest after", async () => {
    const g = gate();
    const cuts = cutBatches(
      waiting(items(0, 3), g, items(3, 2)),
      (x) => x,
      () => 1,
      bound,
      10,
    );
    const first = await within(cuts.next(), 5_000);
    expect(first).not.toBe("not yet");
    expect((first as IteratorResult<Cut<{ n: number }, unknown>>).value?.items).toEqual(
      items(0, 3),
    );
    g.open();
    const rest: Cut<{ n: number }, { n: number }>[] = [];
    for await (const c of cuts) rest.push(c);
    expect(rest.map((c) => c.items)).toEqual([items(3, 2)]);
  });

  // Without a linger (a bulk call's array, a sync source) a batch waits until it is full or the
  // source ends: the same waiting source keeps its three items.
  test("no linger: the batch waits for the source", async () => {
    const g = gate();
    const cuts = cutBatches(
      waiting(items(0, 3), g, items(3, 2)),
      (x) => x,
      () => 1,
      bound,
    );
    const first = cuts.next();
    expect(await within(first, 200)).toBe("not yet");
    g.open();
    expect((await first).value?.items).toEqual(items(0, 5));
  });

  // Steps that come at once fill their batches: the linger cuts only a batch its source keeps.
  test("a source with its items at hand fills its batches", async () => {
    async function* quick() {
      yield* items(0, 1_200);
    }
    const cuts: Cut<{ n: number }, { n: number }>[] = [];
    for await (const c of cutBatches(
      quick(),
      (x) => x,
      () => 1,
      bound,
      10,
    ))
      cuts.push(c);
    expect(sizes(cuts)).toEqual([500, 500, 200]);
  });

  // The linger is the batch's wait, not one step's: a source that trickles (a step every 10 ms,
  // none as long as the 40 ms linger) still has its batch sent before it ends (a clock per
  // step would wait for all 100).
  test("a trickling source: the batch goes out once it has waited the linger in all", async () => {
    async function* trickle() {
      for (let i = 0; i < 100; i++) {
        await Bun.sleep(10);
        yield { n: i };
      }
    }
    const cuts: Cut<{ n: number }, { n: number }>[] = [];
    for await (const c of cutBatches(
      trickle(),
      (x) => x,
      () => 1,
      bound,
      40,
    ))
      cuts.push(c);
    expect(cuts.length).toBeGreaterThan(1);
    expect(cuts[0]!.items.length).toBeLessThan(100);
    expect(cuts.flatMap((c) => c.items)).toEqual(items(0, 100));
  });

  // Chunks of lines (a reader's): a chunk's items stay together; the wait cuts after them.
  test("arrays from a waiting source: cut after the chunk, before the wait", async () => {
    const g = gate();
    const chunks = waiting([items(0, 2), items(2, 2)], g, [items(4, 1)]);
    const cuts = cutBatches(
      chunks,
      (x) => x,
      () => 1,
      bound,
      10,
    );
    const first = await within(cuts.next(), 5_000);
    expect((first as IteratorResult<Cut<{ n: number }, unknown>>).value?.items).toEqual(
      items(0, 4),
    );
    g.open();
    const rest: number[] = [];
    for await (const c of cuts) rest.push(c.items.length);
    expect(rest).toEqual([1]);
  });

  // A for-await loop's ways: a consumer that stops asks the source to return, once; a source
  // whose step threw is not asked.
  test("the consumer stops: the source is asked to return; a step that threw: not", async () => {
    const g = gate();
    let returned = 0;
    const base = waiting(items(0, 2), g, items(2, 1));
    const source: AsyncIterable<{ n: number }> = {
      [Symbol.asyncIterator]: () => ({
        next: () => base.next(),
        return: async () => {
          returned++;
          g.open(); // the source's own step under way ends, as a closed cursor's would
          return { done: true as const, value: undefined };
        },
      }),
    };
    for await (const c of cutBatches(
      source,
      (x) => x,
      () => 1,
      bound,
      10,
    )) {
      expect(c.items).toEqual(items(0, 2));
      break;
    }
    expect(returned).toBe(1);

    let asked = 0;
    // The step after the first fails only once the first item's batch went out (by the linger):
    // no race between a sleep and the linger's timer on a busy machine.
    let sawFirst!: () => void;
    const firstOut = new Promise<void>((resolve) => {
      sawFirst = resolve;
    });
    const failing: AsyncIterable<{ n: number }> = {
      [Symbol.asyncIterator]: () => {
        let k = 0;
        return {
          next: async () => {
            if (k++ === 0) return { done: false, value: { n: 0 } };
            await firstOut;
            throw new Error("cursor lost");
          },
          return: async () => {
            asked++;
            return { done: true as const, value: undefined };
          },
        };
      },
    };
    const seen: number[] = [];
    const run = (async () => {
      for await (const c of cutBatches(
        failing,
        (x) => x,
        () => 1,
        bound,
        10,
      )) {
        seen.push(c.items.length);
        sawFirst();
      }
    })();
    await expect(run).rejects.toThrow("cursor lost");
    expect(seen).toEqual([1]);
    expect(asked).toBe(0);
  });
});

describe("Queue.enqueueStream and trigger --file - with a waiting source", () => {
  test("jobs a source yields before it waits are enqueued while it waits", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const g = gate();
    const specs = (n: number, from: number) =>
      items(from, n).map((payload) => ({ task: "noop", payload }));
    const stream = q.enqueueStream(waiting(specs(2, 0), g, specs(1, 2)));
    const first = await within(stream.next(), 5_000);
    expect(first).not.toBe("not yet");
    const batch = (first as IteratorResult<{ jobs: { id: string }[] }>).value;
    expect(batch?.jobs).toHaveLength(2);
    // In Redis while the source still waits.
    const jobs = await q.getJobs(batch!.jobs.map((j: { id: string }) => j.id));
    expect(jobs.map((j) => j?.status)).toEqual(["queued", "queued"]);
    g.open();
    const rest: number[] = [];
    for await (const b of stream) rest.push(b.jobs.length);
    expect(rest).toEqual([1]);
  });

  test("lingerMs is checked: a whole number from 0 to 60,000", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const spec = { task: "noop", payload: {} };
    for (const bad of [-1, 1.5, Number.NaN, 60_001, "10" as unknown as number]) {
      const stream = q.enqueueStream([spec], { lingerMs: bad });
      const err = await stream.next().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(String((err as Error).message)).toMatch(/^lingerMs must be a whole number from 0/);
    }
    for (const good of [0, 60_000]) {
      let n = 0;
      for await (const b of q.enqueueStream([spec], { lingerMs: good })) n += b.jobs.length;
      expect(n).toBe(1);
    }
  });

  // A pipe fed by hand (`tail -f urls | trigger --file -`): each line's id is printed while the
  // pipe stays open, not once 500 lines have come.
  test("trigger --file -: a line's id is printed while standard input stays open", async () => {
    const prefix = testPrefix();
    const proc = spawnCli("trigger", ["--prefix", prefix, "--file", "-"], { openStdin: true });
    proc.stdin.write("https://example.org/a\n");
    proc.stdin.flush();
    const reader = proc.stdout.getReader();
    const out = await within(
      readUntil(reader, (text) => text.includes("\n")),
      10_000,
    );
    expect(out).not.toBe("not yet");
    expect(proc.exitCode).toBeNull(); // still reading its input
    proc.stdin.end();
    expect(await proc.exited).toBe(0);
    reader.releaseLock();
  });
});
