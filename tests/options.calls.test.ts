// A call's options are checked as the entry points' are (tests/options.entry.test.ts): a key the
// call does not take is refused with one InputError line naming the call, the key and the key
// likely meant, and nothing is written. `q.enqueue(t, p, { delayMS: 5000 })` ran the job at
// once, and `admin.setLimits({ rat: "5/s" })` changed nothing, each without a word. A job spec
// may carry the caller's own keys (enqueueStream yields specs as given), so only a key that
// spells a spec's key another way is refused there.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { InputError } from "../lib/errors.ts";
import { respelt } from "../lib/option-keys.ts";
import { SPEC_KEYS } from "../lib/queue/call-args.ts";
import { openQueue, redisUrl, testPrefix } from "./helpers.ts";

/** The InputError `p` rejects with (fails when it resolves or rejects with another error). */
async function refusal(p: Promise<unknown> | (() => unknown)): Promise<string> {
  const err = await (typeof p === "function" ? Promise.resolve().then(p) : p).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  return (err as Error).message;
}

/** enqueueBatch's options: its callback, a no-op job, and `more`. */
function batchOptions(more: Record<string, unknown>): never {
  const options: Record<string, unknown> = { ...more };
  // biome-ignore lint/suspicious/noThenProperty: the option's name; a JobSpec, never a function
  options.then = { task: "noop", payload: {} };
  return options as never;
}

/** The first step of a stream of outcomes: where its options are checked. */
const firstStep = (it: AsyncIterator<unknown>) => it.next();

describe("a call's options", () => {
  test("each call refuses a key it does not take, naming the one meant; nothing is written", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const spec = { task: "noop", payload: {} };
    const cases: [string, Promise<unknown> | (() => unknown), string][] = [
      [
        "enqueue",
        q.enqueue("noop", {}, { delayMS: 5_000 } as never),
        "enqueue: unknown option delayMS (did you mean delayMs?)",
      ],
      [
        "enqueue's task",
        q.enqueue("noop", {}, { task: "other" } as never),
        "enqueue: unknown option task",
      ],
      [
        "enqueueMany",
        q.enqueueMany([spec], { inflight: 2 } as never),
        "enqueueMany: unknown option inflight (did you mean inFlight?)",
      ],
      [
        "enqueueStream",
        firstStep(q.enqueueStream([spec], { linger: 5 } as never)),
        "enqueueStream: unknown option linger (did you mean lingerMs?)",
      ],
      [
        "enqueueBatches",
        firstStep(q.enqueueBatches([spec], { inFlight: 2, batchSize: 5 } as never)),
        "enqueueBatches: unknown option batchSize",
      ],
      [
        "enqueueBatch",
        q.enqueueBatch([spec], batchOptions({ than: spec })),
        "enqueueBatch: unknown option than (did you mean then?)",
      ],
      [
        "waitForJobs",
        q.waitForJobs(["1-0"], { timeoutMs: 10, onprogress: () => {} } as never),
        "waitForJobs: unknown option onprogress (did you mean onProgress?)",
      ],
      [
        "events",
        () => q.events({ form: "start" } as never),
        "events: unknown option form (did you mean from?)",
      ],
      [
        "events, no object",
        () => q.events(5 as never),
        "events: options must be an object, got the number 5",
      ],
    ];
    for (const [call, p, message] of cases) {
      expect({ call, message: await refusal(p) }).toEqual({ call, message });
    }
    // Nothing was enqueued by any of them.
    const page = await Admin.connect({ redisUrl: redisUrl(), prefix }).then(async (a) => {
      try {
        return await a.jobs({ state: "waiting", limit: 10 });
      } finally {
        await a.close();
      }
    });
    expect(page.jobs).toEqual([]);
  });

  test("Admin: setLimits, jobs and deadLetters refuse keys they do not take", async () => {
    const prefix = testPrefix();
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      expect(await refusal(admin.setLimits({ rat: "5/s" } as never))).toBe(
        "setLimits: unknown option rat (did you mean rate?)",
      );
      expect(await admin.limits()).toEqual({ rate: null, keyConcurrency: null, keyRate: null });
      expect(
        await refusal(admin.jobs({ state: "waiting", limit: 5, olderst: true } as never)),
      ).toBe("jobs: unknown option olderst (did you mean oldest?)");
      expect(await refusal(admin.deadLetters({ limit: 5, next: "x" } as never))).toBe(
        "deadLetters: unknown option next",
      );
    } finally {
      await admin.close();
    }
  });

  test("the options the calls take are all taken, absent ones too", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const spec = { task: "noop", payload: {} };
    const id = await q.enqueue("noop", {}, { maxAttempts: 2, limitKey: undefined, id: undefined });
    expect(id).toMatch(/^\d+-\d+/);
    expect(await q.enqueueMany([spec], { inFlight: 2, lingerMs: 0 })).toHaveLength(1);
    const waited = await q.waitForJobs([id], {
      timeoutMs: 1,
      onProgress: () => {},
      onJobProgress: () => {},
      recheckMs: 1_000,
      onError: () => {},
      blockMs: 100,
      keepRecords: false,
      signal: new AbortController().signal,
    });
    expect(waited.pending).toEqual([id]);
    const batch = await q.enqueueBatch([spec], batchOptions({ inFlight: 1, lingerMs: 5 }));
    expect(batch.ids).toHaveLength(1);
  });
});

describe("a job spec's keys", () => {
  test("a key that spells a spec's key another way is refused; the caller's own keys travel", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const cases: [Record<string, unknown>, string][] = [
      [{ delayMS: 5_000 }, "a job spec has delayMS: did you mean delayMs?"],
      [{ delay: 5_000 }, "a job spec has delay: did you mean delayMs?"],
      [{ max_attempts: 3 }, "a job spec has max_attempts: did you mean maxAttempts?"],
      [{ ID: "mine" }, "a job spec has ID: did you mean id?"],
      [{ "run-at": 1 }, "a job spec has run-at: did you mean runAt?"],
    ];
    for (const [extra, message] of cases) {
      const spec = { task: "noop", payload: {}, ...extra };
      expect(await refusal(q.enqueueMany([spec]))).toBe(message);
    }
    // A stream of specs: the bad one refuses its batch, as any bad spec does.
    const stream = q.enqueueStream([{ task: "noop", payload: {}, dependson: ["1-0"] }]);
    expect(await refusal(firstStep(stream))).toBe(
      "a job spec has dependson: did you mean dependsOn?",
    );
    // The caller's own keys: kept with the spec, not taken for options.
    const mine = { task: "noop", payload: { n: 1 }, row: 7, attempts: 3, line: 2 };
    const batches = [];
    for await (const b of q.enqueueStream([mine])) batches.push(b);
    expect(batches.map((b) => b.specs)).toEqual([[mine]]);
  });

  test("respelt: case, separators and the unit, not other words (a table)", () => {
    const cases: [string, string | undefined][] = [
      ["delayms", "delayMs"],
      ["DELAY_MS", "delayMs"],
      ["delay", "delayMs"],
      ["maxAttempt", "maxAttempts"],
      ["Payload", "payload"],
      ["limit-key", "limitKey"],
      ["onParentFailure", undefined], // itself
      ["attempts", undefined],
      ["ids", undefined],
      ["tasks", undefined],
      ["line", undefined],
      ["_id", undefined], // a key of the caller's own (RR2), not `id`
      ["__payload", undefined],
      ["id-", undefined],
      ["delayed", undefined],
    ];
    for (const [key, meant] of cases) {
      expect({ key, meant: respelt(key, SPEC_KEYS) }).toEqual({ key, meant });
    }
  });
});
